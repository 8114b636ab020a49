"""MNIST held in memory as tensors, split into train / validation / test, batched by index."""
import functools
from dataclasses import dataclass
from pathlib import Path

import torch

from .utils import check_number, data_dir

MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


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


@functools.lru_cache(maxsize=2)
def _read(root, train):
    """The images and labels of one MNIST file pair under root (a resolved path), read once per process."""
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(root, train=train, download=True)
    except Exception as err:  # no files and no network: say what to do instead
        raise FileNotFoundError(f"MNIST is not in {Path(root) / 'MNIST' / 'raw'} and could not be downloaded ({err}). "
                                f"Put the four files {', '.join(MNIST_FILES)} in that folder, or set the KD_DATA_DIR "
                                f"environment variable to a folder that has MNIST/raw/ with them.") from err
    return ds.data.unsqueeze(1).float().div_(255), ds.targets.long()


def load_mnist(val_size=5000, split_seed=0):
    """All of MNIST as in-memory tensors, from data_dir(); val_size images of the training set (a
    fixed random choice) are held out for validation, so tuning never looks at the test set.
    Every call returns tensors of its own (editing them in place cannot change another caller's)."""
    root = str(data_dir().resolve())
    x, y = _read(root, True)
    test_x, test_y = _read(root, False)
    check_number("val_size", val_size, low=0, high=len(y) - 1, integer=True)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(split_seed))
    val, train = order[:val_size].sort().values, order[val_size:].sort().values
    return MNISTSplits(x[train], y[train], x[val], y[val], test_x.clone(), test_y.clone())


def batch_indices(n, batch_size, *, shuffle=True, generator=None):
    """Yield index tensors that cover range(n) once, in batches of batch_size: index the data *and*
    anything aligned with it (cached teacher logits) with the same indices."""
    check_number("batch_size", batch_size, low=1, integer=True)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    yield from order.split(batch_size)


def subset(x, y, n, seed=0):
    """A fixed random subset of n examples, rows of x and y kept aligned (the same n and seed give
    the same examples; a larger n with the same seed contains the smaller one)."""
    check_number("n", n, low=1, high=len(y), integer=True)
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:n]
    return x[idx], y[idx]


def jitter(x, max_shift=2, generator=None):
    """Shift every image of x (N, C, H, W) by its own random whole number of pixels, between
    -max_shift and +max_shift in each direction; pixels shifted in from outside are 0 (background).
    Works on the in-memory tensor: pad once, then cut one window per shift."""
    s = check_number("max_shift", max_shift, low=0, integer=True)
    if not torch.is_tensor(x) or x.dim() != 4:
        raise ValueError(f"x must be a 4-D tensor (N, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    height, width = x.shape[-2:]
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
