"""kd_helpers.data: MNIST in memory (needs_mnist: skipped without the files), batching by index,
fixed subsets and the jitter augmentation (on synthetic tensors)."""
from collections import Counter

import pytest
import torch
from torchvision.datasets import MNIST

from kd_helpers import batch_indices, jitter, load_mnist, subset

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def image_keys(x):
    """One number per image (a fixed random projection): identical images give identical numbers."""
    w = torch.randn(784, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return Counter((x.flatten(1).double() @ w).mul(1e6).round().long().tolist())


# -- the real MNIST -------------------------------------------------------------------------------


@pytest.mark.needs_mnist
def test_shapes_dtypes_and_range(mnist):
    assert mnist.train_x.shape == (55000, 1, 28, 28) and mnist.val_x.shape == (5000, 1, 28, 28)
    assert mnist.test_x.shape == (10000, 1, 28, 28)
    for x, y in ((mnist.train_x, mnist.train_y), (mnist.val_x, mnist.val_y), (mnist.test_x, mnist.test_y)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.min() == 0.0 and x.max() == 1.0
    assert repr(mnist) == "MNISTSplits(train=55000, val=5000, test=10000)"


@pytest.mark.needs_mnist
def test_known_class_counts(mnist):
    assert torch.bincount(torch.cat([mnist.train_y, mnist.val_y])).tolist() == TRAIN_COUNTS
    assert torch.bincount(mnist.test_y).tolist() == TEST_COUNTS


@pytest.mark.needs_mnist
@pytest.mark.slow
def test_validation_split_is_disjoint_fixed_and_follows_its_seed(mnist):
    full = load_mnist(val_size=0)
    assert len(full.train_y) == 60000 and len(full.val_y) == 0
    # train and validation split the 60,000 images: together they are exactly the full set
    assert image_keys(mnist.train_x) + image_keys(mnist.val_x) == image_keys(full.train_x)
    assert torch.equal(load_mnist().val_y, mnist.val_y) and torch.equal(load_mnist().val_x, mnist.val_x)
    other = load_mnist(split_seed=1)
    assert not torch.equal(other.val_x, mnist.val_x)
    assert image_keys(other.train_x) + image_keys(other.val_x) == image_keys(full.train_x)


@pytest.mark.needs_mnist
def test_every_call_returns_tensors_of_its_own(mnist):
    first = load_mnist(val_size=100)
    keep = first.test_x[0].clone(), first.train_x[0].clone()
    first.test_x.zero_()  # a learner's in-place edit ...
    first.train_x.zero_()
    second = load_mnist(val_size=100)  # ... does not reach the next caller
    assert torch.equal(second.test_x[0], keep[0]) and torch.equal(second.train_x[0], keep[1])
    assert torch.equal(second.test_x, mnist.test_x)


@pytest.mark.needs_mnist
@pytest.mark.parametrize("val_size", [-1, 60000, 2.5])
def test_bad_val_size_is_refused(mnist, val_size):
    with pytest.raises(ValueError, match=f"val_size must be a whole number >= 0 and <= 59999, got {val_size}"):
        load_mnist(val_size=val_size)


def test_missing_data_error_says_what_to_do(tmp_path, monkeypatch):
    def no_network(self):
        raise RuntimeError("no network")

    monkeypatch.setattr(MNIST, "download", no_network)
    monkeypatch.setenv("KD_DATA_DIR", str(tmp_path))  # read anew on every call, not cached
    with pytest.raises(FileNotFoundError) as info:
        load_mnist()
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "KD_DATA_DIR" in message
    assert "train-images-idx3-ubyte" in message and "no network" in message


# -- batches and subsets --------------------------------------------------------------------------


def test_batch_indices_cover_everything_once():
    batches = list(batch_indices(103, 10, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert sorted(torch.cat(batches).tolist()) == list(range(103))
    assert torch.cat(batches).tolist() != list(range(103))  # shuffled
    again = list(batch_indices(103, 10, generator=torch.Generator().manual_seed(0)))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))  # the generator fixes the order
    assert torch.equal(torch.cat(list(batch_indices(5, 2, shuffle=False))), torch.arange(5))
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1, got 0"):
        list(batch_indices(5, 0))


def test_subset_keeps_x_and_y_aligned():
    x, y = torch.arange(100).float().unsqueeze(1) * 10, torch.arange(100)  # row i of x is 10 i, its label i
    sx, sy = subset(x, y, 30, seed=1)
    assert len(sy) == 30 and len(set(sy.tolist())) == 30  # no repeats
    assert torch.equal(sx.squeeze(1), sy.float() * 10)
    assert sy.tolist() != list(range(30))  # a random choice, not the first 30


def test_subset_is_fixed_by_its_seed_and_nested_in_n():
    x, y = torch.arange(100).float().unsqueeze(1), torch.arange(100)
    small, large = subset(x, y, 10, seed=1)[1], subset(x, y, 40, seed=1)[1]
    assert torch.equal(subset(x, y, 10, seed=1)[1], small)
    assert set(small.tolist()) <= set(large.tolist())  # a larger n contains the smaller one
    assert not torch.equal(subset(x, y, 10, seed=2)[1], small)
    assert sorted(subset(x, y, 100, seed=3)[1].tolist()) == list(range(100))
    for bad in (0, 101, 2.5):
        with pytest.raises(ValueError, match=f"n must be a whole number >= 1 and <= 100, got {bad}"):
            subset(x, y, bad)


# -- jitter ---------------------------------------------------------------------------------------


def shifted(image, down, right):
    """An independent shift: torch.roll, then zero the rows and columns that wrapped around."""
    out = torch.roll(image, shifts=(down, right), dims=(-2, -1))
    if down > 0:
        out[..., :down, :] = 0
    elif down < 0:
        out[..., down:, :] = 0
    if right > 0:
        out[..., :, :right] = 0
    elif right < 0:
        out[..., :, right:] = 0
    return out


def test_jitter_shifts_each_image_whole_by_at_most_max_shift():
    x = torch.rand(300, 1, 28, 28, generator=torch.Generator().manual_seed(1)) + 0.1  # no zero pixels inside
    out = jitter(x, 2, torch.Generator().manual_seed(0))
    found = []
    for i in range(len(x)):  # every output is exactly one of the 25 shifts of its own input
        matches = [(a, b) for a in range(-2, 3) for b in range(-2, 3) if torch.equal(out[i], shifted(x[i], a, b))]
        assert len(matches) == 1
        found.append(matches[0])
    assert len(set(found)) == 25  # all shifts occur
    assert torch.equal(jitter(x, 2, torch.Generator().manual_seed(0)), out)  # seeded: reproducible
    assert not torch.equal(jitter(x, 2, torch.Generator().manual_seed(1)), out)
    assert torch.equal(jitter(x, 0), x)


def test_jitter_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_shift must be a whole number >= 0, got -1"):
        jitter(torch.zeros(2, 1, 28, 28), -1)
    with pytest.raises(ValueError, match="max_shift must be a whole number >= 0, got 1.5"):
        jitter(torch.zeros(2, 1, 28, 28), 1.5)
    with pytest.raises(ValueError, match=r"x must be a 4-D tensor \(N, C, H, W\), got torch.Size\(\[2, 28, 28\]\)"):
        jitter(torch.zeros(2, 28, 28), 2)
