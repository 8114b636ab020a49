"""kd_helpers: the small package behind the knowledge-distillation notebooks."""
from .calibration import expected_calibration_error, fit_temperature, reliability_bins
from .checks import check_distillation_loss
from .checkpoints import checkpoint_dir, checkpoint_path, load_checkpoint, save_checkpoint
from .data import MNISTSplits, batch_indices, data_dir, jitter, load_mnist, subset
from .exercises import check_function
from .features import HiddenRecorder, cosine_loss, hidden_features, hint_loss
from .losses import distillation_loss, kd_loss, soft_targets
from .models import CONV_TEACHER_CONFIG, MLP, PAPER_TEACHER_CONFIG, ConvNet, STUDENT_CONFIG, TEACHER_CONFIG, make_model, make_student, make_teacher
from .plotting import plot_curves, plot_paired, plot_probabilities, plot_sweep, show_digits
from .stats import Paired, paired
from .training import (PAPER_TEACHER_RECIPE, STUDENT_RECIPE, TEACHER_RECIPE, EvalResult, cache_teacher_logits, evaluate,
                       fit, load_or_train, load_or_train_paper_teacher, load_or_train_teacher, predict_logits,
                       student_errors, teacher_path, train_epoch, train_model, train_student, train_teacher)
from .utils import choose_device, progress_bar, seed_everything

__all__ = [name for name in dir() if not name.startswith("_")]
