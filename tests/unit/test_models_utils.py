"""kd_helpers.models (configs, MLP, ConvNet, max-norm) and kd_helpers.utils (seeding, the device,
folders, progress bars, check_number)."""
import dataclasses
import math
import random
import re

import numpy as np
import pytest
import torch
from torch import nn

import kd_helpers
from kd_helpers import (CONV_TEACHER, PAPER_TEACHER, STUDENT, TEACHER, MLPConfig, check_number, checkpoint_dir,
                        choose_device, data_dir, machine, make_model, make_student, progress_bar, seed_everything)
from kd_helpers.utils import REPO_ROOT


def count(model):
    return sum(p.numel() for p in model.parameters())


def same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


# -- models ---------------------------------------------------------------------------------------


def test_teacher_and_student_shapes_and_parameter_counts():
    teacher, student = make_model(TEACHER), make_model(STUDENT)
    x = torch.rand(3, 1, 28, 28)
    assert teacher(x).shape == student(x).shape == (3, 10)
    assert count(teacher) == 784 * 1200 + 1200 + 1200 * 1200 + 1200 + 1200 * 10 + 10
    assert count(student) == 784 * 20 + 20 + 20 * 20 + 20 + 20 * 10 + 10
    assert [m.p for m in teacher.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]
    assert not any(isinstance(m, nn.Dropout) for m in student.modules())
    assert teacher.config == TEACHER and student.config == STUDENT == MLPConfig()


def test_configs_are_frozen_and_lists_become_tuples():
    assert MLPConfig(hidden=[30, 30]) == MLPConfig(hidden=(30, 30))  # a settings cell's list compares equal
    assert hash(MLPConfig(hidden=[30, 30])) == hash(MLPConfig(hidden=(30, 30)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        STUDENT.hidden = (5,)
    assert dataclasses.replace(TEACHER, input_dropout=0.2, max_norm=3.5) == PAPER_TEACHER


@pytest.mark.parametrize("kwargs", [{"dropout": 1.0}, {"dropout": -0.1}, {"input_dropout": 1.0}])
def test_dropout_outside_0_1_is_refused(kwargs):
    with pytest.raises(ValueError, match=r"dropout and input_dropout must be in \[0, 1\)"):
        MLPConfig(**kwargs)


def test_make_student_takes_the_widths():
    for width in (30, 300):
        m = make_student((width, width))
        assert m.config == MLPConfig(hidden=(width, width))
        assert [layer.out_features for layer in m.net if isinstance(layer, nn.Linear)] == [width, width, 10]
        assert m(torch.rand(2, 784)).shape == (2, 10)


def test_same_seed_same_initial_weights():
    a, b, c = make_student(seed=7), make_student(seed=7), make_student(seed=8)
    assert same_weights(a, b)
    assert not any(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_dropout_acts_in_train_mode_only():
    torch.manual_seed(0)
    m = make_model(MLPConfig(hidden=(50,), dropout=0.5))
    x = torch.rand(4, 784)
    m.train()
    assert not torch.equal(m(x), m(x))  # two draws of the dropout mask
    m.eval()
    assert torch.equal(m(x), m(x))
    # in eval mode dropout is the identity: the same as the forward pass without the Dropout layer
    without = nn.Sequential(*[layer for layer in m.net if not isinstance(layer, nn.Dropout)])
    torch.testing.assert_close(m(x), without(x))


def test_paper_teacher_input_dropout_and_max_norm():
    model = make_model(PAPER_TEACHER, seed=0)
    assert isinstance(model.net[1], nn.Dropout) and model.net[1].p == 0.2  # on the input pixels
    linear = [m for m in model.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        linear[0].weight[:10].mul_(50)  # make ten rows far too long
    short = linear[0].weight[10:].clone()
    model.apply_max_norm()
    norms = linear[0].weight.norm(dim=1)
    torch.testing.assert_close(norms[:10], torch.full((10,), 3.5))  # the long rows scaled down to the bound
    assert torch.equal(linear[0].weight[10:], short)  # rows within the bound untouched
    assert all(layer.weight.norm(dim=1).max() <= 3.5 * (1 + 1e-6) for layer in linear)


def test_without_max_norm_apply_max_norm_changes_nothing():
    model = make_student(seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.net[1].weight.mul_(100)
    scaled = model.net[1].weight.clone()
    model.apply_max_norm()
    assert torch.equal(model.net[1].weight, scaled) and not torch.equal(scaled, before["net.1.weight"])


def test_conv_net_shapes_and_seeded_initial_weights():
    model = make_model(CONV_TEACHER, seed=0)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert model.config == CONV_TEACHER
    assert same_weights(model, make_model(CONV_TEACHER, seed=0))
    small = make_model(kd_helpers.ConvConfig(channels=[4], hidden=8), seed=0)
    assert small(torch.zeros(2, 1, 28, 28)).shape == (2, 10)  # one block: 28 -> 14
    assert small.net[4].in_features == 4 * 14 * 14


# -- utils ----------------------------------------------------------------------------------------


def test_seed_everything_repeats_python_numpy_and_torch_draws():
    def draws():
        return random.random(), np.random.rand(3).tolist(), torch.rand(3).tolist(), torch.randn(2).tolist()

    seed_everything(3)
    first = draws()
    seed_everything(3)
    second = draws()
    seed_everything(4)
    other = draws()
    assert first == second
    assert all(a != b for a, b in zip(first, other))  # each of the three generators was reseeded


@pytest.mark.parametrize("value", ["cpu", "CPU", " cpu "])
def test_kd_device_cpu_gives_the_cpu(monkeypatch, value):
    monkeypatch.setenv("KD_DEVICE", value)
    assert choose_device() == torch.device("cpu")


def test_kd_device_bogus_raises_naming_it(monkeypatch):
    monkeypatch.setenv("KD_DEVICE", "bogus")
    with pytest.raises(ValueError, match="KD_DEVICE must be cpu, cuda or mps, got 'bogus'"):
        choose_device()


def test_without_kd_device_the_choice_follows_availability(monkeypatch):
    monkeypatch.delenv("KD_DEVICE", raising=False)
    expected = ("cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu")
    assert choose_device().type == expected
    assert torch.zeros(1, device=choose_device()).device.type == expected
    # and the order of preference, whatever this machine has: CUDA, then MPS, then the CPU
    for cuda, mps, want in [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")]:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
        assert choose_device().type == want


def test_machine_names_threads_torch_and_device(monkeypatch):
    monkeypatch.setenv("KD_DEVICE", "cpu")
    line, n = machine(), torch.get_num_threads()
    assert re.search(rf"\b{n} torch thread{'s' if n != 1 else ''},", line) and f"torch {torch.__version__}," in line
    assert line.endswith("device cpu") and "\n" not in line


def test_folders_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("KD_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("KD_CHECKPOINT_DIR", str(tmp_path / "c"))
    assert data_dir() == tmp_path / "d" and checkpoint_dir() == tmp_path / "c"
    monkeypatch.delenv("KD_DATA_DIR")
    monkeypatch.delenv("KD_CHECKPOINT_DIR")
    assert data_dir() == REPO_ROOT / "data" and checkpoint_dir() == REPO_ROOT / "checkpoints"
    assert (REPO_ROOT / "kd_helpers" / "utils.py").is_file()


@pytest.mark.parametrize("setting, shown", [("0", False), ("false", False), ("OFF", False), (" No ", False),
                                            ("1", True), ("yes", True), (None, True)])
def test_kd_progress_switches_bars(monkeypatch, setting, shown):
    if setting is None:
        monkeypatch.delenv("KD_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("KD_PROGRESS", setting)
    bar = progress_bar(range(3))
    assert bar.disable == (not shown)  # read before iterating: a finished bar closes itself
    assert list(bar) == [0, 1, 2]
    assert progress_bar(range(3), progress=True).disable is False  # an explicit argument wins
    assert progress_bar(range(3), progress=False).disable is True


def test_a_silenced_bar_prints_nothing(monkeypatch, capsys):
    monkeypatch.setenv("KD_PROGRESS", "0")
    assert list(progress_bar(range(3))) == [0, 1, 2]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("value, expected", [(3, 3), (np.int64(3), 3), (np.float32(2.5), 2.5),
                                             (torch.tensor(2.5), 2.5), (torch.tensor(4, dtype=torch.int64), 4)])
def test_check_number_accepts_numpy_and_tensor_numbers(value, expected):
    got = check_number("x", value, low=0)
    assert got == expected and not torch.is_tensor(got)


def test_check_number_integer_and_bounds():
    assert check_number("n", 3.0, integer=True) == 3 and type(check_number("n", np.int64(3), integer=True)) is int
    assert check_number("p", 1.0, low=0, high=1) == 1.0 and check_number("p", 0, low=0) == 0
    with pytest.raises(ValueError, match="p must be a finite number > 0, got 0"):
        check_number("p", 0, low=0, low_open=True)
    with pytest.raises(ValueError, match=r"n must be a whole number >= 1 and <= 5, got 2.5"):
        check_number("n", 2.5, low=1, high=5, integer=True)
    with pytest.raises(ValueError, match=r"a must be a finite number >= 0 and <= 1, got 1.5"):
        check_number("a", 1.5, low=0, high=1)


@pytest.mark.parametrize("bad", [True, False, math.nan, math.inf, "3", None, [3], torch.ones(2)])
def test_check_number_refuses_non_numbers_naming_them(bad):
    with pytest.raises(ValueError, match=r"^x must be a finite number, got "):
        check_number("x", bad)
