"""kd_helpers.plotting, drawn with the Agg backend (no display): each helper returns its Axes or Figure,
draws the data it was given, and labels what it draws."""
import statistics

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from kd_helpers import paired, plot_curves, plot_paired, plot_probabilities, plot_sweep, show_digits


@pytest.fixture(autouse=True)
def agg():
    backend = matplotlib.get_backend()
    plt.switch_backend("Agg")
    yield
    plt.close("all")
    plt.switch_backend(backend)


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_curves_draws_one_labelled_line_per_history():
    histories = {"scratch": {"epoch": [1, 2, 3], "val_errors": [30, 20, 15]},
                 "distilled": {"epoch": [1, 2, 3], "val_errors": [25, 18, 12]}}
    ax = plot_curves(histories)
    assert isinstance(ax, plt.Axes)
    assert [(list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()] == [
        ([1, 2, 3], [30, 20, 15]), ([1, 2, 3], [25, 18, 12])]
    assert legend_texts(ax) == ["scratch", "distilled"]
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("epoch", "val errors", "val errors per epoch")
    _, given = plt.subplots()
    assert plot_curves(histories, ax=given, title="t", ylabel="y") is given
    assert (given.get_title(), given.get_ylabel()) == ("t", "y")


def test_show_digits_returns_a_figure_with_a_title_per_image():
    images = torch.rand(5, 1, 28, 28)
    fig = show_digits(images, [f"digit {k}" for k in range(5)], ncols=3, title="five digits")
    assert isinstance(fig, plt.Figure) and len(fig.axes) == 6  # 2 rows of 3, the last cell empty
    assert [ax.get_title() for ax in fig.axes] == [f"digit {k}" for k in range(5)] + [""]
    assert fig._suptitle.get_text() == "five digits"
    np.testing.assert_array_equal(fig.axes[2].get_images()[0].get_array(), images[2].reshape(28, 28).numpy())


def test_plot_probabilities_draws_one_bar_per_class():
    probs = torch.softmax(torch.tensor([2.0, 1.0, 0.1]), dim=0)
    ax = plot_probabilities(probs, title="soft targets")
    assert isinstance(ax, plt.Axes)
    assert [bar.get_height() for bar in ax.patches] == pytest.approx(probs.tolist())
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("class", "probability", "soft targets")
    assert ax.get_ylim() == (0, 1)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]


def test_plot_sweep_draws_mean_and_sd_per_setting_and_the_baseline_band():
    runs = [[10, 12, 14], [8, 9, 13], [11]]
    ax = plot_sweep([1, 2, 4], runs, label="distilled (3 seeds)", baseline=[12, 13, 14])
    assert isinstance(ax, plt.Axes)
    container = ax.containers[0]
    line, _, (bars,) = container
    assert list(line.get_ydata()) == pytest.approx([np.mean(r) for r in runs])
    lengths = [seg[1, 1] - seg[0, 1] for seg in bars.get_segments()]  # each bar spans mean -/+ sd
    assert lengths == pytest.approx([2 * np.std(r, ddof=1) if len(r) > 1 else 0.0 for r in runs])
    assert sorted(ax.get_legend_handles_labels()[1]) == ["baseline", "distilled (3 seeds)"]
    baseline_line = [line for line in ax.get_lines() if line.get_linestyle() == "--"][0]
    assert list(baseline_line.get_ydata()) == [13, 13]
    band = ax.patches[0]  # mean -/+ sd of the baseline
    assert (band.get_y(), band.get_y() + band.get_height()) == pytest.approx((13 - statistics.stdev([12, 13, 14]),
                                                                              13 + statistics.stdev([12, 13, 14])))


def test_plot_paired_draws_every_seed_and_the_interval():
    results = [paired([290, 301, 284], [303, 310, 292]), paired([300, 305, 299], [303, 310, 292])]
    ax = plot_paired(["T=2", "T=4"], results, baseline_label="scratch")
    assert isinstance(ax, plt.Axes)
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert sorted(np.concatenate([d.get_ydata() for d in dots]).tolist()) == sorted(
        list(results[0].diffs) + list(results[1].diffs))
    means = [line for line in ax.get_lines() if line.get_marker() == "s"][0]
    assert list(means.get_ydata()) == pytest.approx([r.mean for r in results])
    (bars,) = ax.containers[0][2]
    spans = [end for seg in bars.get_segments() for end in (seg[0, 1], seg[1, 1])]
    assert spans == pytest.approx([end for r in results for end in (r.low, r.high)])  # each mean's t-interval
    texts = legend_texts(ax)
    assert "mean difference, bars: 95% t-interval (3 seeds)" in texts and "no difference from scratch" in texts
    assert ax.get_ylabel() == "errors minus scratch's (same seed)" and ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["T=2", "T=4"]


def test_plot_paired_refuses_mismatched_labels():
    with pytest.raises(ValueError, match="labels and results must be non-empty and of one length, got 2 and 1"):
        plot_paired(["a", "b"], [paired([1, 2], [2, 3])])
