"""kd_helpers: the small package behind the knowledge-distillation notebooks.

Read in this order: losses, models, data, training, teachers (with checkpoints), stats, then
calibration, features and plotting as the notebooks reach them; gpt, text and lm for the language
models. classroom/ (check cells, the loss harness, the live lab) is tooling, not course content."""
from .calibration import ece_floor, expected_calibration_error, fit_temperature, reliability_bins
from .checkpoints import CorruptCheckpoint, checkpoint_path, load_checkpoint, save_checkpoint
from .classroom import check_distillation_loss, check_function
from .data import MNISTSplits, batch_indices, jitter, load_mnist, subset
from .features import HiddenRecorder, cosine_loss, hidden_features, hint_loss
from .losses import distillation_loss, kd_loss, soft_targets
from .models import (CONV_TEACHER, PAPER_TEACHER, STUDENT, TEACHER, ConvConfig, MLPConfig, make_model, make_student,
                     register_config)
from .plotting import plot_curves, plot_paired, plot_probabilities, plot_sweep, show_digits
from .stats import Paired, choose, family, paired
from .teachers import PAPER_TEACHER_RECIPE, TEACHER_RECIPE, load_or_train, train_on_mnist
from .training import STUDENT_RECIPE, errors_per_seed, evaluate, fit, predict_logits, train_epoch, train_student
from .utils import check_number, checkpoint_dir, choose_device, data_dir, machine, progress_bar, seed_everything

__all__ = [  # the names above, for `from kd_helpers import *`
    "ece_floor", "expected_calibration_error", "fit_temperature", "reliability_bins", "CorruptCheckpoint",
    "checkpoint_path", "load_checkpoint", "save_checkpoint", "check_distillation_loss", "check_function",
    "MNISTSplits", "batch_indices", "jitter", "load_mnist", "subset", "HiddenRecorder", "cosine_loss",
    "hidden_features", "hint_loss", "distillation_loss", "kd_loss", "soft_targets", "CONV_TEACHER", "PAPER_TEACHER",
    "STUDENT", "TEACHER", "ConvConfig", "MLPConfig", "make_model", "make_student", "register_config", "plot_curves",
    "plot_paired", "plot_probabilities", "plot_sweep", "show_digits", "Paired", "choose", "family", "paired",
    "PAPER_TEACHER_RECIPE", "TEACHER_RECIPE", "load_or_train", "train_on_mnist", "STUDENT_RECIPE",
    "errors_per_seed", "evaluate", "fit", "predict_logits", "train_epoch", "train_student", "check_number",
    "checkpoint_dir", "choose_device", "data_dir", "machine", "progress_bar", "seed_everything",
]
