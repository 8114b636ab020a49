import torch

from kd_helpers import MLP, choose_device, make_student, make_teacher, progress_bar, seed_everything


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_teacher_and_student_shapes():
    teacher, student = make_teacher(), make_student()
    x = torch.rand(3, 1, 28, 28)
    assert teacher(x).shape == student(x).shape == (3, 10)
    assert count(teacher) == 784 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 10 + 10
    assert count(student) == 784 * 20 + 20 + 20 * 20 + 20 + 20 * 10 + 10
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in teacher.modules()) == 2
    assert not any(isinstance(m, torch.nn.Dropout) for m in student.modules())


def test_other_widths_are_one_argument_away():
    for width in (30, 300, 800):
        m = make_student((width, width))
        assert m.config == {"hidden": [width, width], "dropout": 0.0}
        assert m(torch.rand(2, 784)).shape == (2, 10)


def test_same_seed_same_initial_weights():
    a, b, c = make_student(seed=7), make_student(seed=7), make_student(seed=8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_seed_everything_repeats_random_draws():
    seed_everything(3)
    first = torch.rand(3), torch.randn(2)
    seed_everything(3)
    second = torch.rand(3), torch.randn(2)
    assert all(torch.equal(x, y) for x, y in zip(first, second))


def test_choose_device_returns_a_usable_device():
    device = choose_device()
    assert torch.zeros(1, device=device).device.type == device.type


def test_progress_bar_can_be_silenced(monkeypatch, capsys):
    monkeypatch.setenv("KD_PROGRESS", "0")
    assert list(progress_bar(range(3))) == [0, 1, 2]
    assert list(progress_bar(range(3), progress=False)) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_mlp_dropout_only_in_train_mode():
    m = MLP(hidden=(50,), dropout=0.5)
    x = torch.rand(4, 784)
    m.eval()
    assert torch.equal(m(x), m(x))
