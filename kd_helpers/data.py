"""MNIST held in memory as tensors, split into train / validation / test, batched by index."""
import functools
import os
from dataclasses import dataclass
from pathlib import Path

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def data_dir():
    """The folder holding MNIST/raw/: $KD_DATA_DIR if set, else data/ at the repository root."""
    return Path(os.environ.get("KD_DATA_DIR") or REPO_ROOT / "data")


@dataclass
class MNISTSplits:
    """Images are float32 in [0, 1] with shape (N, 1, 28, 28); labels are int64 of shape (N,)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    def __repr__(self):
        return f"MNISTSplits(train={len(self.train_y)}, val={len(self.val_y)}, test={len(self.test_y)})"


def _read(root, train):
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(root, train=train, download=True)
    except Exception as err:  # no files and no network: say what to do instead
        raise FileNotFoundError(
            f"MNIST is not in {Path(root) / 'MNIST' / 'raw'} and could not be downloaded ({err}). "
            f"Put the four files {', '.join(MNIST_FILES)} in that folder, or set the KD_DATA_DIR "
            f"environment variable to a folder that has MNIST/raw/ with them."
        ) from err
    return ds.data.unsqueeze(1).float().div_(255), ds.targets.long()


@functools.lru_cache(maxsize=4)
def load_mnist(val_size=5000, root=None, split_seed=0):
    """All of MNIST as in-memory tensors; val_size images of the training set (a fixed random
    choice) are held out for validation, so tuning never looks at the test set."""
    root = Path(root) if root is not None else data_dir()
    x, y = _read(root, train=True)
    test_x, test_y = _read(root, train=False)
    if not 0 <= val_size < len(y):
        raise ValueError(f"val_size must be in [0, {len(y) - 1}], got {val_size!r}")
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(split_seed))
    val, train = order[:val_size], order[val_size:].sort().values
    return MNISTSplits(x[train], y[train], x[val], y[val], test_x, test_y)


def batch_indices(n, batch_size, *, shuffle=True, generator=None):
    """Yield index tensors that cover range(n) once, in batches of batch_size.

    Index the data *and* anything aligned with it (cached teacher logits) with the same indices."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    yield from order.split(batch_size)


def subset(x, y, n, seed=0):
    """A fixed random subset of n examples (the same n and seed give the same examples)."""
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


def jitter(x, max_shift=2, generator=None):
    """Shift every image of x (N, 1, H, W) by its own random whole number of pixels, between
    -max_shift and +max_shift in each direction; pixels shifted in from outside are 0 (background).
    Works on the in-memory tensor: pad once, then cut one window per shift."""
    if not isinstance(max_shift, int) or isinstance(max_shift, bool) or max_shift < 0:
        raise ValueError(f"max_shift must be a whole number >= 0, got {max_shift!r}")
    if not torch.is_tensor(x) or x.dim() != 4:
        raise ValueError(f"x must be a 4-D tensor (N, C, H, W), got {tuple(x.shape) if torch.is_tensor(x) else x!r}")
    if max_shift == 0:
        return x.clone()
    s, (height, width) = max_shift, x.shape[-2:]
    down = torch.randint(-s, s + 1, (len(x),), generator=generator).to(x.device)
    right = torch.randint(-s, s + 1, (len(x),), generator=generator).to(x.device)
    padded = torch.nn.functional.pad(x, (s, s, s, s))
    out = torch.empty_like(x)
    for dy in range(-s, s + 1):
        for dx in range(-s, s + 1):
            rows = ((down == dy) & (right == dx)).nonzero().squeeze(1)
            # out[i, j] = x[i - dy, j - dx]: the window starts s - dy rows into the padded image
            out[rows] = padded[rows, :, s - dy : s - dy + height, s - dx : s - dx + width]
    return out
