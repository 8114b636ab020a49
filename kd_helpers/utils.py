"""Seeding, the device, and progress bars that one switch can silence."""
import os
import random

import numpy as np
import torch
from tqdm.auto import tqdm


def seed_everything(seed):
    """Seed Python, NumPy and PyTorch (CPU and every GPU) in one call."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators
    return seed


def choose_device():
    """CUDA if present, then Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def progress_enabled(progress=None):
    """progress=None follows the KD_PROGRESS environment variable (set it to 0 to silence bars)."""
    if progress is None:
        return os.environ.get("KD_PROGRESS", "1") not in ("0", "false", "False", "no")
    return bool(progress)


def progress_bar(iterable=None, progress=None, **kwargs):
    """tqdm.auto (a widget in Jupyter, text in a terminal), or a silent pass-through."""
    return tqdm(iterable, disable=not progress_enabled(progress), **kwargs)
