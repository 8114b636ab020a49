"""Fixtures shared by the tests: toy data, a tiny MNISTSplits, the real MNIST (skipped when absent),
a checkpoint folder of the test's own, and one torch thread for the unit tests.

The toy problem is learnable in a few epochs on the CPU: the label of an image is the index of its one
bright horizontal band (10 bands, 2 rows apart), on a dim random background."""
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kd_helpers import MNISTSplits, load_mnist

UNIT = Path(__file__).parent / "unit"


@pytest.fixture(autouse=True)
def one_thread_for_unit_tests(request):
    """The unit tests' models are tiny: one torch thread is as fast as two, and it does not stall when
    the other core is busy (on this 2-core machine, with another job running, a 784-20-20-10 training
    step took 0.55 ms on one thread and 27 ms on two; the fast suite ran 16 s instead of 60-100 s).
    An explicit OMP_NUM_THREADS (say, checking the tests under another thread count) is left alone."""
    if "OMP_NUM_THREADS" in os.environ or UNIT not in request.node.path.parents:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make_toy_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
    y = torch.randint(0, 10, (n,), generator=g)
    for i in range(n):
        x[i, 0, 2 * y[i] + 4 : 2 * y[i] + 7, 4:24] += 0.8
    return x, y


@pytest.fixture
def toy_data():
    """The factory toy_data(n=256, seed=0) -> (x of shape (n, 1, 28, 28), y int64 of shape (n,))."""
    return make_toy_data


def make_tiny_mnist(n_train=200, n_val=100, n_test=100, seed=0):
    x, y = make_toy_data(n_train + n_val + n_test, seed)
    a, b = n_train, n_train + n_val
    return MNISTSplits(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


@pytest.fixture
def tiny_mnist():
    """A tiny MNISTSplits of toy data: 200 training, 100 validation and 100 test images."""
    return make_tiny_mnist()


@pytest.fixture
def teacher_logits(tiny_mnist):
    """Logits for tiny_mnist's training images from a teacher that knows the answer, with a little noise."""
    g = torch.Generator().manual_seed(1)
    y = tiny_mnist.train_y
    return 6 * F.one_hot(y, 10).float() + torch.randn(len(y), 10, generator=g)


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST splits (load_mnist()); the test is skipped when the files are absent and cannot be
    downloaded. Tests that use it are marked needs_mnist."""
    try:
        return load_mnist()
    except FileNotFoundError as err:
        pytest.skip(f"MNIST is not available: {str(err)[:200]}")


@pytest.fixture
def checkpoints(tmp_path, monkeypatch):
    """An empty checkpoint folder of this test's own ($KD_CHECKPOINT_DIR), so no test reads or writes the
    repository's checkpoints/."""
    folder = tmp_path / "checkpoints"
    monkeypatch.setenv("KD_CHECKPOINT_DIR", str(folder))
    return folder
