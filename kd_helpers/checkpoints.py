"""Checkpoints written atomically, read with weights_only=True, and checked against a config.
Pure storage: training lives in training.py (load_or_train)."""
import os
import tempfile
from pathlib import Path

import torch

from .data import REPO_ROOT
from .models import make_model


def checkpoint_dir():
    """$KD_CHECKPOINT_DIR if set, else checkpoints/ at the repository root (git-ignored)."""
    return Path(os.environ.get("KD_CHECKPOINT_DIR") or REPO_ROOT / "checkpoints")


def checkpoint_path(name, recipe=None, default_recipe=None):
    """checkpoint_dir()/name.pt for the default recipe, else a file named after the recipe's settings,
    so a model trained with other settings never replaces the default one."""
    recipe = {**(default_recipe or {}), **(recipe or {})}
    if recipe == (default_recipe or {}):
        return checkpoint_dir() / f"{name}.pt"
    tag = "_".join(f"{k}{v}" for k, v in sorted(recipe.items()))
    return checkpoint_dir() / f"{name}_{tag}.pt"


def save_checkpoint(model, path, **info):
    """Save weights, model.config and extra info (e.g. test_accuracy) to path, atomically:
    write a temporary file beside it, then replace, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"config": model.config, "state_dict": model.state_dict(), "info": info}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; a checkpoint is an ordinary file
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path, expected_config=None):
    """Return (model in eval mode, info dict). Clear errors for a missing file, an unreadable
    (truncated or corrupt) file, and a config that differs from expected_config."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: train one first (notebook 04, or load_or_train / load_or_train_teacher)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        config, state = payload["config"], payload["state_dict"]
    except Exception as err:
        raise ValueError(f"checkpoint {path} is truncated or corrupt ({type(err).__name__}: {err}); "
                         f"delete it and train again") from err
    if expected_config is not None and dict(config) != dict(expected_config):
        raise ValueError(f"checkpoint {path} holds a model with config {config}, expected {expected_config}; "
                         f"pass a different path or delete the file to retrain")
    model = make_model(config)
    model.load_state_dict(state)
    return model.eval(), payload.get("info", {})
