"""Checkpoints written atomically, read with weights_only=True, and checked against a config."""
import os
import tempfile
from pathlib import Path

import torch

from .data import REPO_ROOT
from .models import TEACHER_CONFIG, make_model


def checkpoint_dir():
    """$KD_CHECKPOINT_DIR if set, else checkpoints/ at the repository root (git-ignored)."""
    return Path(os.environ.get("KD_CHECKPOINT_DIR") or REPO_ROOT / "checkpoints")


def teacher_path(recipe=None):
    """Where the teacher trained with recipe is kept: one file per recipe, so a teacher trained
    with other settings (say 2 epochs in notebook 04) never replaces the default one."""
    from .training import TEACHER_RECIPE

    recipe = {**TEACHER_RECIPE, **(recipe or {})}
    if recipe == TEACHER_RECIPE:
        return checkpoint_dir() / "teacher.pt"
    tag = "_".join(f"{k}{v}" for k, v in sorted(recipe.items()))
    return checkpoint_dir() / f"teacher_{tag}.pt"


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
        raise FileNotFoundError(f"no checkpoint at {path}: train one first (notebook 04 or load_or_train_teacher)")
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


def load_or_train_teacher(path=None, data=None, recipe=None, progress=None):
    """Load the teacher from path (default: teacher_path(recipe)) if a valid checkpoint is
    there, else train it with recipe and save it.

    A missing or corrupt file means 'no valid checkpoint': the teacher is (re)trained.
    A readable checkpoint of another architecture raises instead of being overwritten."""
    from .data import load_mnist
    from .training import TEACHER_RECIPE, evaluate, train_teacher
    from .utils import choose_device

    recipe = {**TEACHER_RECIPE, **(recipe or {})}
    path = Path(path) if path is not None else teacher_path(recipe)
    if path.is_file():
        try:
            teacher, info = load_checkpoint(path, expected_config=TEACHER_CONFIG)
            return teacher.to(choose_device()), info
        except ValueError as err:
            if "truncated or corrupt" not in str(err):
                raise
            print(f"{err} -> training a new teacher")
    data = data if data is not None else load_mnist()
    teacher, history = train_teacher(data, recipe, progress=progress)
    test = evaluate(teacher, data.test_x, data.test_y)
    info = {"test_accuracy": test.accuracy, "test_errors": test.errors, "recipe": recipe}
    save_checkpoint(teacher, path, **info)
    return teacher.eval(), info
