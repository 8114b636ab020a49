"""Classroom tooling, apart from the core a learner reads: the exercises' check cells, the
distillation-loss property harness of the bug zoo, and the live temperature lab (ipywidgets)."""
from .checks import check_distillation_loss
from .exercises import check_function

__all__ = ["check_distillation_loss", "check_function"]  # the lab: from kd_helpers.classroom.lab import TemperatureLab
