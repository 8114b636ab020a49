"""Plotting helpers: learning curves, digits, probabilities, sweeps and paired differences."""
import statistics

import matplotlib.pyplot as plt


def plot_curves(histories, key="val_errors", ax=None, title=None, ylabel=None):
    """One line per named history (dict name -> history from fit) against the epoch."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for name, h in histories.items():
        ax.plot(h["epoch"], h[key], marker="o", label=name)
    ax.set(xlabel="epoch", ylabel=ylabel or key.replace("_", " "), title=title or f"{key.replace('_', ' ')} per epoch")
    ax.legend()
    ax.grid(alpha=0.3)
    return ax


def show_digits(images, titles, ncols=8, title=None):
    """A grid of 28x28 images with a short title under each."""
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.5 * ncols, 1.8 * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, t in zip(axes.flat, images, titles):
        ax.imshow(img.reshape(28, 28).cpu().numpy(), cmap="gray_r")
        ax.set_title(t, fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_probabilities(probs, ax=None, title=None, labels=None):
    """A bar chart of one probability vector (classes on x, probability on y, 0..1)."""
    ax = ax or plt.subplots(figsize=(5, 3))[1]
    probs = [float(p) for p in probs]
    labels = labels if labels is not None else [str(i) for i in range(len(probs))]
    ax.bar(labels, probs, color="tab:blue")
    ax.set(ylim=(0, 1), xlabel="class", ylabel="probability", title=title or "")
    return ax


def plot_sweep(xs, runs, ax=None, label=None, baseline=None, baseline_label="baseline", **kwargs):
    """Mean +/- standard deviation of repeated runs (runs[i] = error counts at xs[i]) as error
    bars; baseline (a list of error counts) is drawn as a band across the plot."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    sds = [statistics.stdev(r) if len(r) > 1 else 0.0 for r in runs]
    ax.errorbar(xs, [statistics.mean(r) for r in runs], yerr=sds, marker="o", capsize=4, label=label, **kwargs)
    if baseline is not None:
        m, s = statistics.mean(baseline), statistics.stdev(baseline) if len(baseline) > 1 else 0.0
        ax.axhline(m, color="gray", ls="--", label=baseline_label)
        ax.axhspan(m - s, m + s, color="gray", alpha=0.15)
    ax.grid(alpha=0.3)
    return ax


def plot_paired(labels, results, ax=None, baseline_label="scratch", ylabel=None, title=None):
    """Paired differences (one kd_helpers.stats.Paired per label) against one baseline: a dot per
    seed, the mean with its confidence interval as an error bar, and a line at 0 (no difference).
    Below the line the variant made fewer errors than the baseline on that seed."""
    if not results or len(labels) != len(results):
        raise ValueError(f"labels and results must be non-empty and of one length, got {len(labels)} and {len(results)}")
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    xs = range(len(labels))
    ns = sorted({r.n for r in results})
    n_text = f"{ns[0]} seed{'s' * (ns[0] != 1)}" if len(ns) == 1 else f"{ns[0]}-{ns[-1]} seeds"
    for x, r in zip(xs, results):
        offsets = [x + 0.06 * (k - (r.n - 1) / 2) for k in range(r.n)]
        ax.plot(offsets, r.diffs, "o", color="tab:gray", alpha=0.6, ms=4,
                label="one seed (variant - baseline)" if x == 0 else None)
    below = [r.mean - r.low if r.n > 1 else 0.0 for r in results]  # the error bars' lengths
    above = [r.high - r.mean if r.n > 1 else 0.0 for r in results]
    ax.errorbar(list(xs), [r.mean for r in results], yerr=[below, above], fmt="s", color="tab:blue", capsize=5,
                label=f"mean difference, bars: {results[0].confidence:.0%} t-interval ({n_text})")
    ax.axhline(0, color="black", lw=1, ls="--", label=f"no difference from {baseline_label}")
    ax.set_xticks(list(xs), [str(label) for label in labels])
    ax.set(ylabel=ylabel or f"errors minus {baseline_label}'s (same seed)", title=title or f"Paired differences against {baseline_label}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax
