"""The live temperature lab's logic, without a browser: tiny synthetic data, one epoch per student."""
import ipywidgets as widgets
import pytest
import torch
import torch.nn.functional as F

from kd_helpers.data import MNISTSplits
from kd_helpers.lab import MAX_CURVES, T_MAX, T_MIN, TemperatureLab, temperature_lab


def toy_splits(n=300, seed=0):
    """A learnable toy problem (the label is the brightest of 10 image bands) and teacher logits
    that know the answer, with a little 'dark knowledge' noise."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
    y = torch.randint(0, 10, (n,), generator=g)
    for i in range(n):
        x[i, 0, 2 * y[i] : 2 * y[i] + 3] += 0.8
    train, val = slice(0, 200), slice(200, n)
    data = MNISTSplits(x[train], y[train], x[val], y[val], x[val], y[val])
    teacher_logits = 6 * F.one_hot(data.train_y, 10).float() + torch.randn(200, 10, generator=g)
    return data, teacher_logits


@pytest.fixture(scope="module")
def lab():
    data, teacher_logits = toy_splits()
    return temperature_lab(data, teacher_logits, seeds=(0, 1), epochs=1, temperature=4.0, alpha=0.3)


def test_the_lab_is_a_widget_with_the_controls(lab):
    assert isinstance(lab.widget, widgets.VBox)
    assert isinstance(lab.temperature, widgets.FloatLogSlider)
    assert (lab.temperature.base ** lab.temperature.min, lab.temperature.base ** lab.temperature.max) == pytest.approx(
        (T_MIN, T_MAX))
    assert isinstance(lab.image, widgets.Image) and bytes(lab.image.value).startswith(b"\x89PNG")
    assert lab.button.description == "distil"
    assert lab.seed_note.value == "seeds 0, 1"
    bundle = lab._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_a_press_adds_a_curve_redraws_and_gives_a_paired_verdict(lab):
    before = lab.image.value
    first = lab.press(temperature=2.0, alpha=0.5)
    assert len(lab.presses) == 1 and lab.image.value != before
    assert first.seeds == (0, 1) and len(first.curves) == 2 and len(first.curves[0]) == 1  # 1 epoch
    assert first.result.n == 2 and first.result.diffs == tuple(
        v - s for v, s in zip(first.val_errors, first.scratch_errors))
    assert first.result.verdict in lab.verdict.value and "T=2, alpha=0.50" in lab.verdict.value
    assert "vs scratch" in first.verdict() and first.verdict() in lab.verdict.value
    assert (lab.temperature.value, lab.alpha.value) == pytest.approx((2.0, 0.5))

    # the scratch students are trained once per seed and reused
    cached = dict(lab._scratch)
    drawn = lab.image.value
    second = lab.press(temperature=10.0, n_seeds=1)
    assert lab._scratch == cached and second.seeds == (0,) and second.alpha == pytest.approx(0.5)
    assert second.result.verdict == "no difference measurable with 1 seed"
    assert len(lab.presses) == 2 and lab.image.value != drawn


def test_a_press_is_reproducible_per_seed(lab):
    first = lab.press(temperature=3.0, alpha=0.4, n_seeds=2)
    again = lab.press(temperature=3.0, alpha=0.4, n_seeds=2)
    assert again.val_errors == first.val_errors  # same seed, same settings: same students


def test_the_button_presses_and_reports_errors_in_the_widget(lab, monkeypatch):
    n = len(lab.presses)
    lab.button.click()
    assert len(lab.presses) == n + 1 and lab.last_error is None and not lab.button.disabled

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(lab, "_train", broken)
    lab._scratch.clear()
    lab.button.click()  # the failure is shown in the widget, not lost in a log
    assert isinstance(lab.last_error, RuntimeError) and "out of memory" in lab.verdict.value
    assert lab.button.description == "distil" and not lab.button.disabled


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0.2}, "temperature must be a number in"),
    ({"temperature": 500.0}, "temperature must be a number in"),
    ({"alpha": 1.5}, "alpha must be a number in"),
    ({"alpha": -0.1}, "alpha must be a number in"),
    ({"n_seeds": 3}, "n_seeds must be an integer in"),
    ({"n_seeds": 0}, "n_seeds must be an integer in"),
])
def test_settings_outside_the_sliders_raise_clear_errors(lab, kwargs, message):
    n = len(lab.presses)
    with pytest.raises(ValueError, match=message):
        lab.press(**kwargs)
    assert len(lab.presses) == n


def test_the_sliders_ranges_are_the_labs(lab):
    assert (lab.alpha.min, lab.alpha.max) == (0.0, 1.0)
    assert lab.n_seeds.min == 1 and lab.n_seeds.max == 2


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": True}, "temperature must be a finite number > 0"),
    ({"alpha": False}, "alpha must be a number in"),
    ({"n_seeds": True}, "n_seeds must be an integer"),
])
def test_bad_press_arguments_raise_clear_errors(lab, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lab.press(**{"temperature": 2.0, "alpha": 0.5, **kwargs})


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": ()}, "seeds must be a non-empty list of integers"),
    ({"seeds": (0, 0)}, "must not repeat"),
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"temperature": "hot"}, "temperature must be a number"),
    ({"seed": 3}, "recipe keywords may be batch_size, lr and schedule only"),
])
def test_bad_constructor_arguments_raise_clear_errors(kwargs, message):
    data, teacher_logits = toy_splits(220)
    with pytest.raises(ValueError, match=message):
        TemperatureLab(data, teacher_logits, **kwargs)
    with pytest.raises(ValueError, match="one row per training image"):
        TemperatureLab(data, teacher_logits[:10])


def test_alpha_one_is_the_scratch_student_so_every_difference_is_zero(lab):
    """alpha = 1 puts all the weight on the labels: the distilled student of a seed IS the scratch
    student of that seed (same weights, same batches), which checks the pairing itself."""
    record = lab.press(temperature=4.0, alpha=1.0, n_seeds=2)
    assert record.result.diffs == (0.0, 0.0)
    assert record.result.verdict == "no difference measurable with 2 seeds"


@pytest.mark.parametrize("kwargs, expected, note", [
    ({"temperature": 0.1}, (T_MIN,), "starts at 0.5 instead of 0.1"),
    ({"temperature": 500.0, "alpha": 1.5}, (T_MAX, 1.0), "starts at 1 instead of 1.5"),
])
def test_a_start_outside_the_sliders_is_clamped_with_a_note(kwargs, expected, note, capsys):
    """A settings cell with TEMPERATURE = 0.1 must not stop Restart & Run All: the lab starts at the
    nearest end of its slider and says so."""
    data, teacher_logits = toy_splits(220)
    lab = TemperatureLab(data, teacher_logits, **kwargs)
    assert (lab.temperature.value, lab.alpha.value)[: len(expected)] == pytest.approx(expected)
    assert note in capsys.readouterr().out


def test_alpha_one_says_identical_on_every_seed(lab):
    record = lab.press(temperature=3.0, alpha=1.0, n_seeds=2)
    assert "identical on every seed" in record.verdict() and "identical on every seed" in lab.verdict.value


def test_the_curve_panel_draws_only_presses_with_the_latest_seeds(lab, monkeypatch):
    drawn = []
    monkeypatch.setattr(lab, "_mean_curve", lambda curves: drawn.append(len(curves)) or [0] * lab.epochs)
    lab.press(temperature=2.0, alpha=0.5, n_seeds=1)
    # the scratch curve and every press drawn are means over the latest press's one seed
    assert drawn and set(drawn) == {1} and len(drawn) <= MAX_CURVES + 1
