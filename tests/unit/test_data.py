from collections import Counter

import pytest
import torch

import kd_helpers
from kd_helpers import batch_indices, load_mnist, subset

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def mnist():
    return load_mnist()


def test_shapes_dtypes_and_range(mnist):
    assert mnist.train_x.shape == (55000, 1, 28, 28) and mnist.val_x.shape == (5000, 1, 28, 28)
    assert mnist.test_x.shape == (10000, 1, 28, 28)
    for x, y in ((mnist.train_x, mnist.train_y), (mnist.val_x, mnist.val_y), (mnist.test_x, mnist.test_y)):
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert x.min() == 0.0 and x.max() == 1.0


def test_known_class_counts(mnist):
    train_and_val = torch.cat([mnist.train_y, mnist.val_y])
    assert torch.bincount(train_and_val).tolist() == TRAIN_COUNTS
    assert torch.bincount(mnist.test_y).tolist() == TEST_COUNTS


def test_validation_split_is_disjoint_and_fixed(mnist):
    full = load_mnist(val_size=0)
    assert len(full.train_y) == 60000 and len(full.val_y) == 0
    w = torch.randn(784, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def keys(x):  # one number per image; identical images give identical numbers
        return Counter((x.flatten(1).double() @ w).mul(1e6).round().long().tolist())

    # train and validation split the 60,000 images: together they are exactly the full set
    assert keys(mnist.train_x) + keys(mnist.val_x) == keys(full.train_x)
    assert torch.equal(load_mnist.__wrapped__().val_y, mnist.val_y)  # the same split every time


def test_missing_data_error_says_what_to_do(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    def no_network(self):
        raise RuntimeError("no network")

    monkeypatch.setattr(MNIST, "download", no_network)
    monkeypatch.setenv("KD_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError) as info:
        load_mnist.__wrapped__()
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "KD_DATA_DIR" in message
    assert "train-images-idx3-ubyte" in message


def test_data_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KD_DATA_DIR", str(tmp_path))
    assert kd_helpers.data_dir() == tmp_path
    monkeypatch.delenv("KD_DATA_DIR")
    assert kd_helpers.data_dir() == kd_helpers.data.REPO_ROOT / "data"


def test_batch_indices_cover_everything_once():
    g = torch.Generator().manual_seed(0)
    batches = list(batch_indices(103, 10, generator=g))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert sorted(torch.cat(batches).tolist()) == list(range(103))
    assert torch.equal(torch.cat(list(batch_indices(5, 2, shuffle=False))), torch.arange(5))
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        list(batch_indices(5, 0))


def test_subset_is_fixed():
    x, y = torch.arange(100).float().unsqueeze(1), torch.arange(100)
    a, b = subset(x, y, 10, seed=1), subset(x, y, 10, seed=1)
    assert torch.equal(a[1], b[1]) and len(a[1]) == 10
