"""Checkpoints: a model's weights with the config and recipe that made it, written atomically and
read with weights_only=True (a checkpoint can hold only tensors and plain data, never code)."""
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from .models import CONFIGS, make_model
from .utils import checkpoint_dir


class CorruptCheckpoint(ValueError):
    """The file exists but is not a readable checkpoint (truncated, or not written by save_checkpoint)."""


def checkpoint_path(name, config, recipe):
    """checkpoint_dir()/<name>-<8 hex digits>.pt, the digits a hash of the config and the recipe: a
    model trained with other settings gets a file of its own and never replaces another."""
    key = json.dumps([type(config).__name__, plain(asdict(config)), plain(recipe)], sort_keys=True)
    return checkpoint_dir() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.pt"


def _item(value):  # json.dumps calls this for what it cannot write: NumPy and 0-d tensor numbers
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"checkpoint info and recipe must hold plain numbers, strings and lists, got {value!r}")


def plain(data):
    """data as JSON would give it back (tuples become lists, NumPy numbers Python numbers)."""
    return json.loads(json.dumps(data, default=_item))


def save_checkpoint(model, path, *, recipe, info=None):
    """Save the weights, model.config, the recipe and an info dict (plain numbers, strings, lists).
    A temporary file is written beside the target, then renamed over it: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"config_class": type(model.config).__name__, "config": plain(asdict(model.config)),
               "state_dict": model.state_dict(), "recipe": plain(recipe), "info": plain(info or {})}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # one per process: parallel kernels never share it
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path):
    """Return (model in eval mode, config, recipe, info). Raises FileNotFoundError for a missing file and
    CorruptCheckpoint for an unreadable one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        config = CONFIGS[payload["config_class"]](**payload["config"])
        model = make_model(config)
        model.load_state_dict(payload["state_dict"])
    except Exception as err:  # any failure to read the file back means: not a usable checkpoint
        raise CorruptCheckpoint(f"checkpoint {path} is unreadable ({type(err).__name__}: {err})") from err
    return model.eval(), config, payload["recipe"], payload["info"]
