"""A live temperature lab for a class: sliders for T and alpha, a seed picker and a "distil" button.

    lab = TemperatureLab(data, teacher_logits, seeds=(0, 1, 2), epochs=3)
    lab            # in Jupyter: the widgets; lab.press(temperature=4, alpha=0.1) does what the button does

Each press trains one 20-20 student per chosen seed, distilled from the cached teacher logits
with kd_helpers.train_student, and compares it seed by seed with a student trained from scratch
(same seed: same initial weights, same batch order; each scratch student is trained once and
cached). The figure shows the validation-error curves (mean over the chosen seeds) of scratch and
of the newest MAX_CURVES presses that used the same seeds as the latest one (so every curve is a
mean over the same students' seeds), and the paired differences of the newest MAX_PAIRED presses;
the verdict line is kd_helpers.paired's. The T slider moves in steps of 0.5, so 1, 2, 4, 8 and 20
are exact values (typed into the readout or dragged to). A starting temperature or alpha outside the
sliders' range is clamped into it by the slider, with a printed note. The figure is rendered to PNG
bytes for an ipywidgets.Image, so nothing is displayed as a cell output (nbval compares those).
"""
import io
from html import escape
import time
from dataclasses import dataclass

import ipywidgets as widgets
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..models import STUDENT
from ..plotting import plot_paired
from ..stats import Paired, paired
from ..training import train_student
from ..utils import check_number

T_MIN, T_MAX, T_STEP = 0.5, 50.0, 0.5  # the temperature slider: 0.5 sharpens, 50 is nearly flat
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
    result: Paired  # distilled - scratch
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
    values = tuple(check_number(name, v, integer=True) for v in values)
    if not values:
        raise ValueError(f"{name} must be a non-empty list of integers, got {values!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value, got {values!r}")
    return values


class TemperatureLab:
    """The lab's state and widgets. Display it (or lab.widget) in a notebook; press() in code."""

    def __init__(self, data, teacher_logits, *, seeds=(0, 1, 2), epochs=3, temperature=4.0, alpha=0.1,
                 hidden=STUDENT.hidden, device=None, **recipe):
        self.seeds = _check_int_list("seeds", seeds)
        unknown = sorted(set(recipe) - {"batch_size", "lr", "schedule"})
        if unknown:
            raise ValueError(f"recipe keywords may be batch_size, lr and schedule only, got {unknown}")
        check_number("epochs", epochs, low=1, integer=True)
        n = len(data.train_y)
        if tuple(teacher_logits.shape[:1]) != (n,) or teacher_logits.dim() != 2:
            raise ValueError(f"teacher_logits must have one row per training image, shape ({n}, classes), "
                             f"got {tuple(teacher_logits.shape)}")
        check_number("temperature", temperature)
        check_number("alpha", alpha)
        self.data, self.teacher_logits = data, teacher_logits
        self.epochs, self.hidden, self.device, self.recipe = epochs, tuple(hidden), device, recipe
        self.presses = []
        self.last_error = None  # the exception of a failed button press (also shown in the widget)
        self._scratch = {}  # seed -> validation errors per epoch of the scratch student

        self.t_slider = widgets.FloatSlider(value=temperature, min=T_MIN, max=T_MAX, step=T_STEP, description="T",
                                            readout_format=".3g", continuous_update=False)
        self.alpha_slider = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="alpha",
                                                readout_format=".2f", continuous_update=False)
        for name, asked, slider in (("T", temperature, self.t_slider), ("alpha", alpha, self.alpha_slider)):
            if slider.value != asked:  # the slider clamps a value outside its range (or off its steps)
                print(f"note: the lab's {name} slider starts at {slider.value:g} instead of {asked:g}")
        self.n_seeds = widgets.IntSlider(value=len(self.seeds), min=1, max=len(self.seeds), description="seeds",
                                         continuous_update=False)
        self.seed_note = widgets.Label()
        self.button = widgets.Button(description="distil", button_style="primary", icon="play",
                                     tooltip="train the students at these settings and compare with scratch")
        self.verdict_html = widgets.HTML(value="Set T and alpha, then press <b>distil</b>.")
        self.image = widgets.Image(value=self._render(), format="png")
        self.n_seeds.observe(lambda _: self._update_seed_note(), names="value")
        self._update_seed_note()
        self.button.on_click(self._on_click)
        rows = [widgets.HBox([self.t_slider, self.alpha_slider]), widgets.HBox([self.n_seeds, self.seed_note, self.button])]
        self.widget = widgets.VBox([*rows, self.verdict_html, self.image])

    @staticmethod
    def _check_settings(temperature, alpha):
        check_number("temperature", temperature, low=T_MIN, high=T_MAX)  # the slider's range
        check_number("alpha", alpha, low=0, high=1)

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
        temperature = self.t_slider.value if temperature is None else temperature
        alpha = self.alpha_slider.value if alpha is None else alpha
        self._check_settings(temperature, alpha)
        if n_seeds is not None:
            self.n_seeds.value = check_number("n_seeds", n_seeds, low=1, high=len(self.seeds), integer=True)
        self.t_slider.value, self.alpha_slider.value = float(temperature), float(alpha)
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
        self.verdict_html.value = escape(record.verdict())
        return record

    def _on_click(self, _button):
        self.button.disabled, self.button.description = True, "training..."
        self.verdict_html.value = "training the students..."
        try:
            self.press()
            self.last_error = None
        except Exception as err:  # shown in the widget: a callback's traceback would go to the log only
            self.last_error = err
            self.verdict_html.value = f"<span style='color:#b00'>{escape(type(err).__name__ + ': ' + str(err))}</span>"
        finally:
            self.button.disabled, self.button.description = False, "distil"

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

