"""The two losses of knowledge distillation, with input checks that name the bad argument.

distillation_loss: KL(softmax(teacher/T) || softmax(student/T)), averaged over the batch
                   (what KLDivLoss(reduction="batchmean") computes), times T squared.
kd_loss:           alpha * hard cross-entropy + (1 - alpha) * distillation_loss.
"""
import math

import torch
import torch.nn.functional as F


def check_temperature(temperature):
    """Raise ValueError unless temperature is a finite number > 0."""
    ok = isinstance(temperature, (int, float)) and not isinstance(temperature, bool)
    if not ok or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")


def check_alpha(alpha):
    """Raise ValueError unless alpha is a number in [0, 1] (NaN is rejected)."""
    ok = isinstance(alpha, (int, float)) and not isinstance(alpha, bool)
    if not ok or not 0.0 <= alpha <= 1.0:  # NaN fails both comparisons
        raise ValueError(f"alpha must be a number in [0, 1], got {alpha!r}")


def check_logits(student_logits, teacher_logits):
    """Raise ValueError unless both are 2-D (batch, classes) tensors of one shape."""
    for name, t in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not torch.is_tensor(t) or t.dim() != 2:
            shape = tuple(t.shape) if torch.is_tensor(t) else type(t).__name__
            raise ValueError(f"{name} must be a 2-D tensor (batch, classes), got {shape}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f"student_logits and teacher_logits must have the same shape, got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )


def check_targets(targets, logits):
    """Raise ValueError unless targets are integer class indices, one per row of logits."""
    if not torch.is_tensor(targets) or targets.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        got = targets.dtype if torch.is_tensor(targets) else type(targets).__name__
        raise ValueError(f"targets must be an integer tensor of class indices, got {got}")
    if targets.shape != logits.shape[:1]:
        raise ValueError(f"targets must have shape ({logits.shape[0]},) to match the batch, got {tuple(targets.shape)}")
    n_classes = logits.shape[1]
    if targets.numel() and not 0 <= targets.min() <= targets.max() < n_classes:
        bad = targets[(targets < 0) | (targets >= n_classes)][0].item()
        raise ValueError(f"targets must be class indices in [0, {n_classes - 1}], got {bad}")


def distillation_loss(student_logits, teacher_logits, *, temperature):
    """T^2 * KL(p || q) averaged over the batch, p = softmax(teacher/T), q = softmax(student/T).

    log_softmax on both sides keeps it finite for logits of any size (no exp overflow).
    """
    check_temperature(temperature)
    check_logits(student_logits, teacher_logits)
    log_q = F.log_softmax(student_logits / temperature, dim=1)
    log_p = F.log_softmax(teacher_logits / temperature, dim=1)
    kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)
    return kl * temperature**2


def kd_loss(student_logits, teacher_logits, targets, *, temperature, alpha):
    """alpha * cross_entropy(student, targets) + (1 - alpha) * distillation_loss(...)."""
    check_alpha(alpha)
    check_logits(student_logits, teacher_logits)
    check_targets(targets, student_logits)
    hard = F.cross_entropy(student_logits, targets)
    soft = distillation_loss(student_logits, teacher_logits, temperature=temperature)
    return alpha * hard + (1 - alpha) * soft


def soft_targets(logits, temperature):
    """softmax(logits / T) over the last dimension: the 'softened' probabilities."""
    check_temperature(temperature)
    return F.softmax(logits / temperature, dim=-1)
