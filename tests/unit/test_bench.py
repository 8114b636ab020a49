"""tools/bench.py runs end to end on this machine's device (a GPU too: the teacher, the students and the
batches must share it). Tiny data and a tiny teacher here; the real MNIST with 0 epochs under needs_mnist."""
import re

import bench
import pytest
import torch
import torchvision

from kd_helpers import evaluate, make_student, predict_logits, train_student

LAST_LINE = re.compile(r"speedup (\d+\.\d)x article-style (\d+\.\d)s kd_helpers (\d+\.\d)s "
                       r"errors article-style (\d+) kd_helpers (\d+)")


def tiny_teacher_model(device):
    return make_student((16,), seed=0).to(device).eval()


@pytest.fixture
def tiny_teacher(monkeypatch):
    """load_or_train replaced by a small untrained teacher on the requested device (no teacher training)."""
    asked = []

    def load_or_train(name, config, recipe, train=None, *, device=None, progress=None):
        asked.append((name, recipe, device))
        return tiny_teacher_model(device), {"test_errors": 1234}

    monkeypatch.setattr(bench, "load_or_train", load_or_train)
    return asked


def run(argv, capsys):
    bench.main(argv)
    out = capsys.readouterr().out
    match = LAST_LINE.fullmatch(out.strip().splitlines()[-1])
    assert match, out
    return out, match


@pytest.mark.parametrize("epochs", [0, 1])
def test_bench_runs_on_tiny_data(tiny_mnist, tiny_teacher, monkeypatch, capsys, epochs):
    monkeypatch.setattr(bench, "load_mnist", lambda val_size=5000: tiny_mnist)

    class TinyMNIST(torch.utils.data.Dataset):  # what the article's loop reads, without the files
        def __init__(self, root, train, download, transform):
            self.x, self.y = tiny_mnist.train_x, tiny_mnist.train_y

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            return self.x[i], int(self.y[i])

    monkeypatch.setattr(torchvision.datasets, "MNIST", TinyMNIST)
    out, match = run(["--epochs", str(epochs), "--repeats", "2"], capsys)
    device = bench.choose_device()
    assert tiny_teacher == [("teacher", bench.TEACHER_RECIPE, device)]
    assert "teacher: 1234 test errors" in out and f"device {device}" in out and float(match[1]) > 0
    test_x, test_y = tiny_mnist.test_x, tiny_mnist.test_y
    if epochs == 0:  # both students are the untrained seed-0 student
        untrained = evaluate(make_student(seed=0), test_x, test_y).errors
        assert int(match[4]) == int(match[5]) == untrained
    else:  # kd_helpers' student is train_student's, distilled from the teacher's cached logits
        teacher = tiny_teacher_model(device)
        student, _ = train_student(tiny_mnist.train_x, tiny_mnist.train_y,
                                   teacher_logits=predict_logits(teacher, tiny_mnist.train_x),
                                   temperature=bench.TEMPERATURE, alpha=bench.ALPHA, epochs=1, device=device)
        assert int(match[5]) == evaluate(student, test_x, test_y).errors


@pytest.mark.needs_mnist
def test_bench_runs_on_mnist_with_0_epochs(mnist, tiny_teacher, capsys):
    out, match = run(["--epochs", "0"], capsys)
    # no training: both students are the untrained seed-0 student
    assert int(match[4]) == int(match[5]) == evaluate(make_student(seed=0), mnist.test_x, mnist.test_y).errors
