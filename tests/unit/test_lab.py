"""The live temperature lab's logic, without a browser: tiny synthetic data, one epoch per student.
Every test builds its own lab (a few milliseconds of training), so no test depends on another's presses."""
from html import escape

import ipywidgets as widgets
import numpy as np
import pytest

import kd_helpers.classroom.lab as lab_module
from kd_helpers.classroom.lab import T_MAX, T_MIN, TemperatureLab


@pytest.fixture
def lab(tiny_mnist, teacher_logits):
    return TemperatureLab(tiny_mnist, teacher_logits, seeds=(0, 1), epochs=1, temperature=4.0, alpha=0.3,
                          device="cpu")


def test_the_lab_is_a_widget_with_the_controls(lab):
    assert isinstance(lab.widget, widgets.VBox)
    assert isinstance(lab.t_slider, widgets.FloatSlider) and isinstance(lab.alpha_slider, widgets.FloatSlider)
    assert (lab.t_slider.value, lab.alpha_slider.value) == (4.0, 0.3)
    assert isinstance(lab.image, widgets.Image) and bytes(lab.image.value).startswith(b"\x89PNG")
    assert lab.button.description == "distil" and lab.seed_note.value == "seeds 0, 1"
    assert lab.presses == [] and "press <b>distil</b>" in lab.verdict_html.value
    assert "application/vnd.jupyter.widget-view+json" in lab._repr_mimebundle_()


def test_the_t_slider_reaches_the_usual_temperatures_exactly(lab):
    # steps of 0.5 from 0.5: 1, 2, 4, 8 and 20 are on the grid
    for t in (1.0, 2.0, 4.0, 8.0, 20.0):
        assert ((t - lab.t_slider.min) / lab.t_slider.step).is_integer() and T_MIN <= t <= T_MAX
        lab.t_slider.value = t
        assert lab.t_slider.value == t


def test_a_press_adds_a_curve_redraws_and_gives_a_paired_verdict(lab):
    before = lab.image.value
    first = lab.press(temperature=2.0, alpha=0.5)
    assert lab.presses == [first] and lab.image.value != before
    assert first.seeds == (0, 1) and len(first.curves) == 2 and len(first.curves[0]) == 1  # 1 epoch
    assert first.val_errors == [c[-1] for c in first.curves]
    assert first.result.n == 2 and first.result.diffs == tuple(
        v - s for v, s in zip(first.val_errors, first.scratch_errors))
    assert lab.verdict_html.value == escape(first.verdict())
    assert "T=2, alpha=0.50 vs scratch" in first.verdict() and str(first.result) in first.verdict()
    assert (lab.t_slider.value, lab.alpha_slider.value) == (2.0, 0.5)


def test_scratch_students_are_trained_once_per_seed(lab, monkeypatch):
    lab.press(temperature=2.0, alpha=0.5)
    cached = dict(lab._scratch)
    assert sorted(cached) == [0, 1]
    trained = []
    real_train = lab._train
    monkeypatch.setattr(lab, "_train", lambda seed, **kw: trained.append((seed, bool(kw))) or real_train(seed, **kw))
    second = lab.press(temperature=10.0, n_seeds=1)
    assert trained == [(0, True)]  # only the distilled student; the scratch one comes from the cache
    assert lab._scratch == cached and second.seeds == (0,) and second.alpha == 0.5
    assert second.result.verdict == "no difference measurable with 1 seed"


def test_a_press_is_reproducible_per_seed(lab):
    first = lab.press(temperature=3.0, alpha=0.4, n_seeds=2)
    again = lab.press(temperature=3.0, alpha=0.4, n_seeds=2)
    assert again.val_errors == first.val_errors and again.curves == first.curves


def test_alpha_one_is_the_scratch_student_so_every_difference_is_zero(lab):
    """alpha = 1 puts all the weight on the labels: the distilled student of a seed IS the scratch
    student of that seed (same weights, same batches), which checks the pairing itself."""
    record = lab.press(temperature=4.0, alpha=1.0, n_seeds=2)
    assert record.curves == [lab._scratch[0], lab._scratch[1]] and record.result.diffs == (0.0, 0.0)
    assert record.result.verdict == "no difference measurable with 2 seeds"
    assert "identical on every seed" in record.verdict() and "identical on every seed" in lab.verdict_html.value


def test_the_button_presses_and_reports_errors_in_the_widget(lab, monkeypatch):
    n = len(lab.presses)
    lab.button.click()
    assert len(lab.presses) == n + 1 and lab.last_error is None and not lab.button.disabled
    assert lab.presses[-1].temperature == lab.t_slider.value

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(lab, "_train", broken)
    lab.t_slider.value = 7.5  # new settings: a distilled student must be trained, and that fails
    lab.button.click()  # the failure is shown in the widget, not lost in a log
    assert isinstance(lab.last_error, RuntimeError) and "out of memory" in lab.verdict_html.value
    assert len(lab.presses) == n + 1 and lab.button.description == "distil" and not lab.button.disabled


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": 0.2}, r"temperature must be a finite number >= 0.5 and <= 50.0, got 0.2"),
    ({"temperature": 500.0}, r"temperature must be a finite number >= 0.5 and <= 50.0, got 500.0"),
    ({"temperature": True}, r"temperature must be a finite number >= 0.5 and <= 50.0, got True"),
    ({"alpha": 1.5}, r"alpha must be a finite number >= 0 and <= 1, got 1.5"),
    ({"alpha": False}, r"alpha must be a finite number >= 0 and <= 1, got False"),
    ({"n_seeds": 3}, r"n_seeds must be a whole number >= 1 and <= 2, got 3"),
    ({"n_seeds": 0}, r"n_seeds must be a whole number >= 1 and <= 2, got 0"),
    ({"n_seeds": True}, r"n_seeds must be a whole number"),
])
def test_settings_outside_the_sliders_raise_clear_errors(lab, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lab.press(**{"temperature": 2.0, "alpha": 0.5, **kwargs})
    assert lab.presses == [] and (lab.t_slider.value, lab.alpha_slider.value) == (4.0, 0.3)  # nothing moved


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": ()}, "seeds must be a non-empty list of integers"),
    ({"seeds": (0, 0)}, "must not repeat"),
    ({"epochs": 0}, "epochs must be a whole number >= 1, got 0"),
    ({"temperature": "hot"}, "temperature must be a finite number, got 'hot'"),
    ({"seed": 3}, "recipe keywords may be batch_size, lr and schedule only, got \\['seed'\\]"),
])
def test_bad_constructor_arguments_raise_clear_errors(tiny_mnist, teacher_logits, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TemperatureLab(tiny_mnist, teacher_logits, **kwargs)


def test_numpy_seeds_are_accepted(tiny_mnist, teacher_logits):
    lab = TemperatureLab(tiny_mnist, teacher_logits, seeds=np.arange(2), epochs=1, device="cpu")
    assert lab.seeds == (0, 1)


def test_teacher_logits_must_have_a_row_per_training_image(tiny_mnist, teacher_logits):
    with pytest.raises(ValueError, match=r"one row per training image, shape \(200, classes\), got \(10, 10\)"):
        TemperatureLab(tiny_mnist, teacher_logits[:10])


@pytest.mark.parametrize("kwargs, expected, note", [
    ({"temperature": 0.1}, (T_MIN, 0.1), "the lab's T slider starts at 0.5 instead of 0.1"),
    ({"temperature": 500.0, "alpha": 1.5}, (T_MAX, 1.0), "the lab's alpha slider starts at 1 instead of 1.5"),
])
def test_a_start_outside_the_sliders_is_clamped_with_a_note(tiny_mnist, teacher_logits, kwargs, expected, note,
                                                            capsys):
    """A settings cell with TEMPERATURE = 0.1 must not stop Restart & Run All: the lab starts at the
    nearest end of its slider and says so."""
    lab = TemperatureLab(tiny_mnist, teacher_logits, **{"alpha": 0.1, **kwargs})
    assert (lab.t_slider.value, lab.alpha_slider.value) == pytest.approx(expected)
    assert note in capsys.readouterr().out


def test_the_curve_panel_draws_only_presses_with_the_latest_seeds(lab, monkeypatch):
    lab.press(temperature=2.0, alpha=0.5, n_seeds=2)
    drawn = []
    monkeypatch.setattr(lab, "_mean_curve", lambda curves: drawn.append(len(curves)) or [0] * lab.epochs)
    lab.press(temperature=3.0, alpha=0.5, n_seeds=1)
    # the scratch curve and this press, each a mean over the latest press's one seed (not the 2-seed press)
    assert drawn == [1, 1]


def test_the_panels_keep_the_newest_presses_only(lab, monkeypatch):
    monkeypatch.setattr(lab_module, "MAX_PAIRED", 3)  # small limits: four presses show the cut
    monkeypatch.setattr(lab_module, "MAX_CURVES", 2)
    monkeypatch.setattr(lab, "_train", lambda seed, **kwargs: [float(seed)])  # no training needed here
    drawn = {}
    real_plot_paired = lab_module.plot_paired

    def plot_paired(labels, results, **kwargs):
        drawn["paired"] = list(labels)
        return real_plot_paired(labels, results, **kwargs)

    monkeypatch.setattr(lab_module, "plot_paired", plot_paired)
    monkeypatch.setattr(lab, "_mean_curve", lambda curves: drawn["curves"].append(1) or [0])
    for t in (1.0, 2.0, 3.0, 4.0):
        drawn["curves"] = []
        lab.press(temperature=t, alpha=0.5, n_seeds=1)
    assert drawn["paired"] == [f"T={t:g}\na=0.50" for t in (2, 3, 4)]  # the newest MAX_PAIRED presses
    assert len(drawn["curves"]) == 1 + 2  # scratch and the newest MAX_CURVES presses
