"""Seeding, the device, folders, progress bars, and the one input check the package uses."""
import math
import numbers
import os
import platform
import random
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

REPO_ROOT = Path(__file__).resolve().parent.parent  # the repository (the package is installed editable)


def seed_everything(seed):
    """Seed Python, NumPy and PyTorch (CPU and every GPU) in one call."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds the CUDA and MPS generators
    return seed


def choose_device():
    """$KD_DEVICE (cpu, cuda or mps) if set, else CUDA if present, then Apple's MPS, else the CPU."""
    wanted = os.environ.get("KD_DEVICE", "").strip().lower()
    if wanted:
        if wanted not in ("cpu", "cuda", "mps"):
            raise ValueError(f"KD_DEVICE must be cpu, cuda or mps, got {wanted!r}")
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")


def machine():
    """One line saying what computes here: CPU, torch threads, torch version, device."""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):  # not Linux
        cpu = platform.processor() or platform.machine()
    threads = torch.get_num_threads()
    return (f"{cpu}, {threads} torch thread{'s' * (threads != 1)}, CPU kernels {torch.backends.cpu.get_cpu_capability()}, "
            f"torch {torch.__version__}, device {choose_device()}")


def data_dir():
    """The data folder (MNIST/raw/, tinyshakespeare/): $KD_DATA_DIR if set, else data/ in the repository."""
    return Path(os.environ.get("KD_DATA_DIR") or REPO_ROOT / "data")


def checkpoint_dir():
    """The checkpoint folder: $KD_CHECKPOINT_DIR if set, else checkpoints/ in the repository (git ignores it)."""
    return Path(os.environ.get("KD_CHECKPOINT_DIR") or REPO_ROOT / "checkpoints")


def progress_bar(iterable=None, progress=None, **kwargs):
    """A tqdm bar (a widget in Jupyter, text in a terminal); progress=None follows $KD_PROGRESS (0 silences)."""
    if progress is None:
        progress = os.environ.get("KD_PROGRESS", "1").strip().lower() not in ("0", "false", "no", "off")
    return tqdm(iterable, disable=not progress, **kwargs)


def check_number(name, value, *, low=None, high=None, low_open=False, integer=False):
    """Return value if it is a finite real number (NumPy and 0-d tensor numbers too) in [low, high]
    ((low, high] with low_open; a whole number with integer=True); else raise ValueError naming it."""
    if torch.is_tensor(value) and value.numel() == 1:
        value = value.item()
    good = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    good = good and (not integer or float(value).is_integer())
    good = good and (low is None or (value > low if low_open else value >= low)) and (high is None or value <= high)
    if not good:
        bounds = [f"{'>' if low_open else '>='} {low}"] * (low is not None) + [f"<= {high}"] * (high is not None)
        raise ValueError(f"{name} must be {'a whole' if integer else 'a finite'} number {' and '.join(bounds)}".rstrip()
                         + f", got {value!r}")
    return int(value) if integer else value
