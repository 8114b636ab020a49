import pytest
import torch

from kd_helpers import (TEACHER_CONFIG, cache_teacher_logits, evaluate, fit, load_checkpoint, load_or_train_teacher,
                        make_student, make_teacher, save_checkpoint, train_epoch, train_student)
from kd_helpers.data import MNISTSplits


def toy_data(n=256, seed=0):
    """A tiny learnable problem: the label is the brightest of 10 image regions."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
    y = torch.randint(0, 10, (n,), generator=g)
    for i in range(n):
        x[i, 0, 2 * y[i] : 2 * y[i] + 3] += 0.8
    return x, y


def test_evaluate_reports_mean_per_example_loss():
    x, y = toy_data(100)
    model = make_student(seed=0)
    result = evaluate(model, x, y)
    logits = model.eval()(x)
    expected = torch.nn.functional.cross_entropy(logits, y).item()  # mean over the 100 examples
    assert result.loss == pytest.approx(expected, rel=1e-5)
    assert result.errors == int((logits.argmax(1) != y).sum()) and result.n == 100
    assert result.accuracy == pytest.approx(1 - result.errors / 100)


def test_fit_learns_the_toy_problem_and_is_reproducible():
    x, y = toy_data()
    a, b = make_student(seed=0), make_student(seed=0)
    ha = fit(a, x, y, epochs=5, batch_size=32, lr=1e-2, seed=0, val=(x, y), progress=False)
    hb = fit(b, x, y, epochs=5, batch_size=32, lr=1e-2, seed=0, val=(x, y), progress=False)
    assert ha["train_loss"] == hb["train_loss"]
    assert ha["val_errors"][-1] < ha["val_errors"][0]
    assert evaluate(a, x, y).errors < 0.3 * len(y)


def test_cosine_schedule_steps_once_per_epoch():
    x, y = toy_data(64)
    h = fit(make_student(seed=0), x, y, epochs=4, batch_size=16, lr=1e-2, schedule="cosine", progress=False)
    assert h["lr"][0] == pytest.approx(1e-2) and h["lr"][2] == pytest.approx(5e-3)
    with pytest.raises(ValueError, match="schedule must be None, 'cosine' or 'plateau', got 'step'"):
        fit(make_student(), x, y, epochs=1, batch_size=16, lr=1e-2, schedule="step", progress=False)


def test_cached_teacher_logits_stay_aligned_with_shuffled_batches():
    x, y = toy_data(200)
    teacher = make_student((30, 30), seed=1)
    cached = cache_teacher_logits(teacher, x)
    torch.testing.assert_close(cached, teacher.eval()(x).detach())
    seen = []

    def spy_loss(student_logits, targets, teacher_batch):
        seen.append((targets.clone(), teacher_batch.clone()))
        return student_logits.sum() * 0

    student = make_student(seed=0)
    opt = torch.optim.SGD(student.parameters(), lr=0.0)
    train_epoch(student, x, y, opt, batch_size=32, generator=torch.Generator().manual_seed(5),
                teacher_logits=cached, loss_fn=spy_loss)
    assert sum(len(t) for t, _ in seen) == 200
    assert not torch.equal(torch.cat([t for t, _ in seen]), y)  # batches really were shuffled
    fresh = teacher.eval()
    for targets, teacher_batch in seen:  # each cached row is the teacher's output for that very image
        rows = [(cached == row).all(dim=1).nonzero().item() for row in teacher_batch]
        assert torch.equal(y[rows], targets)
        torch.testing.assert_close(teacher_batch, fresh(x[rows]).detach())


def test_distilled_and_scratch_students_start_identical():
    x, y = toy_data(64)
    a, _ = train_student(x, y, epochs=0, seed=4)
    b, _ = train_student(x, y, epochs=0, seed=4, teacher_logits=torch.zeros(64, 10), temperature=4.0, alpha=0.3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_checkpoint_round_trip(tmp_path):
    model = make_student((30, 30), seed=0)
    path = save_checkpoint(model, tmp_path / "sub" / "m.pt", test_accuracy=0.5)
    loaded, info = load_checkpoint(path, expected_config={"hidden": [30, 30], "dropout": 0.0})
    assert info == {"test_accuracy": 0.5}
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), loaded.state_dict().values()))
    assert not loaded.training
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["m.pt"]  # no temporary file left behind


def test_missing_truncated_and_mismatched_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "absent.pt")
    path = save_checkpoint(make_student(seed=0), tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(path)
    save_checkpoint(make_student(seed=0), path)
    with pytest.raises(ValueError, match=r"config \{'hidden': \[20, 20\], 'dropout': 0.0\}, expected"):
        load_checkpoint(path, expected_config=TEACHER_CONFIG)


def test_failed_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(make_student(seed=0), tmp_path / "m.pt", note="old")

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(make_student(seed=1), path, note="new")
    monkeypatch.undo()
    assert load_checkpoint(path)[1] == {"note": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


def tiny_splits():
    x, y = toy_data(128)
    return MNISTSplits(x[:96], y[:96], x[96:], y[96:], x[96:], y[96:])


def test_load_or_train_teacher_trains_once_then_loads(tmp_path, monkeypatch):
    import kd_helpers.training as training

    calls = []
    real = training.train_model

    def counting(config, data, recipe, progress=None, device=None):
        calls.append(recipe)
        return real(config, data, recipe, progress, device)

    monkeypatch.setattr(training, "train_model", counting)
    recipe = {"epochs": 1, "batch_size": 32}
    path = tmp_path / "teacher.pt"
    teacher, info = load_or_train_teacher(path, data=tiny_splits(), recipe=recipe, progress=False)
    assert path.is_file() and len(calls) == 1 and 0 <= info["test_errors"] <= 32
    again, info2 = load_or_train_teacher(path, data=tiny_splits(), recipe=recipe, progress=False)
    assert len(calls) == 1 and info2["test_errors"] == info["test_errors"]
    assert all(torch.equal(p, q) for p, q in zip(teacher.state_dict().values(), again.state_dict().values()))
    path.write_bytes(path.read_bytes()[:100])  # corrupt: retrained and replaced
    load_or_train_teacher(path, data=tiny_splits(), recipe=recipe, progress=False)
    assert len(calls) == 2
    save_checkpoint(make_student(seed=0), path)  # another architecture: refused, not overwritten
    with pytest.raises(ValueError, match="expected"):
        load_or_train_teacher(path, data=tiny_splits(), recipe=recipe, progress=False)
    assert make_teacher().config == TEACHER_CONFIG
