"""A live temperature lab for a class: sliders for T and alpha, a seed picker and a "distil" button.

    lab = temperature_lab(data, teacher_logits, seeds=(0, 1, 2), epochs=3)
    lab            # in Jupyter: the widgets; lab.press(temperature=4, alpha=0.1) does what the button does

Each press trains one 20-20 student per chosen seed, distilled from the cached teacher logits
with kd_helpers.train_student, and compares it seed by seed with a student trained from scratch
(same seed: same initial weights, same batch order; each scratch student is trained once and
cached). The figure shows the validation-error curves (mean over the chosen seeds) of scratch and
of the newest MAX_CURVES presses that used the same seeds as the latest one (so every curve is a
mean over the same students' seeds), and the paired differences of the newest MAX_PAIRED presses;
the verdict line is kd_helpers.paired's. A starting temperature or alpha outside the sliders'
range is clamped into it, with a printed note (a settings cell must not stop Restart & Run All). The figure is rendered to PNG bytes for an ipywidgets.Image, so
nothing is ever displayed as a cell output (an Output widget would leak figures under nbval).
"""
import io
from html import escape
import math
import time
from dataclasses import dataclass

import ipywidgets as widgets
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .losses import check_alpha, check_temperature
from .plotting import plot_paired
from .stats import paired
from .training import train_student

T_MIN, T_MAX = 0.5, 50.0  # the temperature slider's range (a log slider): 0.5 sharpens, 50 is nearly flat
MAX_CURVES = 5  # presses drawn in the curve panel (the newest ones with the latest press's seeds)
MAX_PAIRED = 8  # presses drawn in the paired-differences panel (the newest ones)


@dataclass
class Press:
    """One press of the button: the settings, the students' validation histories and the verdict."""

    temperature: float
    alpha: float
    seeds: tuple
    val_errors: list  # final validation errors of the distilled students, one per seed
    scratch_errors: list  # final validation errors of the scratch students, same seeds
    curves: list  # per seed: validation errors after each epoch (distilled)
    result: object  # kd_helpers.stats.Paired: distilled - scratch
    seconds: float  # wall time of the distilled training of this press

    @property
    def label(self):
        return f"T={self.temperature:.3g}, alpha={self.alpha:.2f}"

    def verdict(self):
        """The verdict line (the widget shows it as HTML)."""
        seeds = ", ".join(str(s) for s in self.seeds)
        same = (" (identical on every seed: the distilled students are the scratch students)"
                if all(d == 0 for d in self.result.diffs) else "")
        return (f"{self.label} vs scratch, validation errors, seeds {seeds}: {self.result}{same} "
                f"(distilled students trained in {self.seconds:.1f} s)")


def _check_int_list(name, values):
    values = tuple(values)
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{name} must be a non-empty list of integers, got {values!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value, got {values!r}")
    return values


class TemperatureLab:
    """The lab's state and widgets. Display it (or lab.widget) in a notebook; press() in code."""

    def __init__(self, data, teacher_logits, *, seeds=(0, 1, 2), epochs=3, temperature=4.0, alpha=0.1,
                 hidden=(20, 20), device=None, **recipe):
        self.seeds = _check_int_list("seeds", seeds)
        unknown = sorted(set(recipe) - {"batch_size", "lr", "schedule"})
        if unknown:
            raise ValueError(f"recipe keywords may be batch_size, lr and schedule only, got {unknown}")
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        n = len(data.train_y)
        if tuple(teacher_logits.shape[:1]) != (n,) or teacher_logits.dim() != 2:
            raise ValueError(f"teacher_logits must have one row per training image, shape ({n}, classes), "
                             f"got {tuple(teacher_logits.shape)}")
        temperature, alpha = self._clamp_start(temperature, alpha)
        self.data, self.teacher_logits = data, teacher_logits
        self.epochs, self.hidden, self.device, self.recipe = epochs, tuple(hidden), device, recipe
        self.presses = []
        self.last_error = None  # the exception of a failed button press (also shown in the widget)
        self._scratch = {}  # seed -> validation errors per epoch of the scratch student

        self.temperature = widgets.FloatLogSlider(
            value=temperature, base=10, min=math.log10(T_MIN), max=math.log10(T_MAX), step=0.01,
            description="T", readout_format=".3g", continuous_update=False)
        self.alpha = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha",
                                         readout_format=".2f", continuous_update=False)
        self.n_seeds = widgets.IntSlider(value=len(self.seeds), min=1, max=len(self.seeds), description="seeds",
                                         continuous_update=False)
        self.seed_note = widgets.Label()
        self.button = widgets.Button(description="distil", button_style="primary", icon="play",
                                     tooltip="train the students at these settings and compare with scratch")
        self.verdict = widgets.HTML(value="Set T and alpha, then press <b>distil</b>.")
        self.image = widgets.Image(value=self._render(), format="png")
        self.n_seeds.observe(lambda _: self._update_seed_note(), names="value")
        self._update_seed_note()
        self.button.on_click(self._on_click)
        rows = [widgets.HBox([self.temperature, self.alpha]), widgets.HBox([self.n_seeds, self.seed_note, self.button])]
        self.widget = widgets.VBox([*rows, self.verdict, self.image])

    # -- the logic -------------------------------------------------------------------------------
    @staticmethod
    def _check_settings(temperature, alpha):
        check_temperature(temperature)  # the course's own checks (kd_helpers.losses), then the slider's range
        check_alpha(alpha)
        if not T_MIN <= temperature <= T_MAX:
            raise ValueError(f"temperature must be a number in [{T_MIN:g}, {T_MAX:g}] (the slider's range), "
                             f"got {temperature!r}")

    @staticmethod
    def _clamp_start(temperature, alpha):
        """The starting values, clamped into the sliders' ranges with a printed note (no error: a settings
        cell outside the range must not stop Restart & Run All)."""
        for name, value in (("temperature", temperature), ("alpha", alpha)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
                raise ValueError(f"{name} must be a number, got {value!r}")
        t, a = min(max(float(temperature), T_MIN), T_MAX), min(max(float(alpha), 0.0), 1.0)
        if t != temperature:
            print(f"note: the lab's T slider runs from {T_MIN:g} to {T_MAX:g}; it starts at {t:g} instead of "
                  f"{temperature:g}")
        if a != alpha:
            print(f"note: the lab's alpha slider runs from 0 to 1; it starts at {a:g} instead of {alpha:g}")
        return t, a

    def chosen_seeds(self):
        return self.seeds[: self.n_seeds.value]

    def _update_seed_note(self):
        self.seed_note.value = "seeds " + ", ".join(str(s) for s in self.chosen_seeds())

    def _train(self, seed, **kwargs):
        _, history = train_student(self.data.train_x, self.data.train_y, hidden=self.hidden,
                                   val=(self.data.val_x, self.data.val_y), epochs=self.epochs, seed=seed,
                                   device=self.device, progress=False, **self.recipe, **kwargs)
        return history["val_errors"]

    def scratch_curve(self, seed):
        """Validation errors per epoch of the scratch student of this seed (trained once, then cached)."""
        if seed not in self._scratch:
            self._scratch[seed] = self._train(seed)
        return self._scratch[seed]

    def press(self, temperature=None, alpha=None, n_seeds=None):
        """What the button does: move the widgets to the given settings (None keeps the current one),
        train, redraw, and return the Press. Raises ValueError for settings outside the sliders."""
        temperature = self.temperature.value if temperature is None else temperature
        alpha = self.alpha.value if alpha is None else alpha
        self._check_settings(temperature, alpha)
        if n_seeds is not None:
            if not isinstance(n_seeds, int) or isinstance(n_seeds, bool) or not 1 <= n_seeds <= len(self.seeds):
                raise ValueError(f"n_seeds must be an integer in [1, {len(self.seeds)}], got {n_seeds!r}")
            self.n_seeds.value = n_seeds
        self.temperature.value, self.alpha.value = float(temperature), float(alpha)
        seeds = self.chosen_seeds()
        scratch = [self.scratch_curve(s) for s in seeds]
        start = time.perf_counter()
        curves = [self._train(s, teacher_logits=self.teacher_logits, temperature=float(temperature),
                              alpha=float(alpha)) for s in seeds]
        seconds = time.perf_counter() - start
        finals, scratch_finals = [c[-1] for c in curves], [c[-1] for c in scratch]
        record = Press(float(temperature), float(alpha), seeds, finals, scratch_finals, curves,
                       paired(finals, scratch_finals), seconds)
        self.presses.append(record)
        self.image.value = self._render()
        self.verdict.value = escape(record.verdict())
        return record

    def _on_click(self, _button):
        self.button.disabled, self.button.description = True, "training..."
        self.verdict.value = "training the students..."
        try:
            self.press()
            self.last_error = None
        except Exception as err:  # shown in the widget: a callback's traceback would go to the log only
            self.last_error = err
            self.verdict.value = f"<span style='color:#b00'>{escape(type(err).__name__ + ': ' + str(err))}</span>"
        finally:
            self.button.disabled, self.button.description = False, "distil"

    # -- the picture -----------------------------------------------------------------------------
    def _mean_curve(self, curves):
        return [sum(c[k] for c in curves) / len(curves) for k in range(self.epochs)]

    def _render(self):
        """The figure as PNG bytes: curves on the left, paired differences on the right."""
        fig = Figure(figsize=(11, 4), dpi=80)  # not pyplot: nothing is ever shown as a cell output
        ax_curves, ax_paired = fig.subplots(1, 2)
        epochs = list(range(1, self.epochs + 1))
        ax_curves.set_xlabel("epoch")
        ax_curves.set_ylabel(f"validation errors (of {len(self.data.val_y):,})")
        ax_curves.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_curves.grid(alpha=0.3)
        if not self.presses:
            for ax, text in [(ax_curves, "validation-error curves\n(scratch and each press)"),
                             (ax_paired, "paired differences\n(each press minus scratch, per seed)")]:
                ax.axis("off")
                ax.text(0.5, 0.5, f"Press distil to see the\n{text}", ha="center", va="center", fontsize=12,
                        color="gray", transform=ax.transAxes)
        else:
            latest = self.presses[-1]
            seeds = latest.seeds
            ax_curves.plot(epochs, self._mean_curve([self.scratch_curve(s) for s in seeds]), "k--", marker="o",
                           label=f"scratch (mean of {len(seeds)} seeds)")
            shown = [r for r in self.presses if r.seeds == seeds][-MAX_CURVES:]
            for k, record in enumerate(shown):
                newest = k == len(shown) - 1
                ax_curves.plot(epochs, self._mean_curve(record.curves), marker="o", lw=2.5 if newest else 1,
                               alpha=1.0 if newest else 0.45,
                               label=f"{record.label} (mean of {record.result.n} seeds)" + (" (this press)" if newest
                                                                                            else ""))
            ax_curves.set_title(f"Validation errors per epoch: scratch and the latest presses (seeds "
                                f"{', '.join(str(s) for s in seeds)})", fontsize=10)
            ax_curves.legend(fontsize=8)
            shown_paired = self.presses[-MAX_PAIRED:]
            plot_paired([f"T={r.temperature:.3g}\na={r.alpha:.2f}" for r in shown_paired],
                        [r.result for r in shown_paired], ax=ax_paired, baseline_label="scratch",
                        title=f"The newest {len(shown_paired)} presses (at most {MAX_PAIRED}): distilled minus scratch")
            ax_paired.set_xlim(-0.5, len(shown_paired) - 0.5)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def temperature_lab(data, teacher_logits, *, seeds=(0, 1, 2), epochs=3, temperature=4.0, alpha=0.1, **kwargs):
    """A TemperatureLab for data (an MNISTSplits: train_x/train_y/val_x/val_y) and teacher_logits
    aligned with data.train_x. Display the returned lab; lab.press(...) presses the button."""
    return TemperatureLab(data, teacher_logits, seeds=seeds, epochs=epochs, temperature=temperature, alpha=alpha,
                          **kwargs)
