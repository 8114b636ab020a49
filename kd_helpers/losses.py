"""The two losses of knowledge distillation.

distillation_loss: T^2 * KL(softmax(teacher/T) || softmax(student/T)), averaged over the rows
                   (what KLDivLoss(reduction="batchmean") computes).
kd_loss:           alpha * hard cross-entropy + (1 - alpha) * distillation_loss.
"""
import torch
import torch.nn.functional as F

from .utils import check_number


def check_logits(student_logits, teacher_logits):
    """Both must be 2-D tensors (rows, classes) of one shape: the same batch and the same classes."""
    for name, t in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not torch.is_tensor(t) or t.dim() != 2:
            raise ValueError(f"{name} must be a 2-D tensor (rows, classes), got "
                             f"{tuple(t.shape) if torch.is_tensor(t) else type(t).__name__}")
    if student_logits.shape[1] != teacher_logits.shape[1]:
        raise ValueError(f"student and teacher must share one vocabulary of classes, got {student_logits.shape[1]} "
                         f"student classes and {teacher_logits.shape[1]} teacher classes")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape, got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")


def distillation_loss(student_logits, teacher_logits, *, temperature):
    """T^2 * KL(p || q) averaged over the rows, p = softmax(teacher/T), q = softmax(student/T).

    log_softmax on both sides keeps it finite for logits of any size (no exp overflow)."""
    check_number("temperature", temperature, low=0, low_open=True)
    check_logits(student_logits, teacher_logits)
    log_q = F.log_softmax(student_logits / temperature, dim=-1)
    log_p = F.log_softmax(teacher_logits / temperature, dim=-1)
    kl = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)  # log_target: p given as log p
    return kl * temperature**2  # T^2 undoes the 1/T^2 that dividing the logits by T puts on the gradient


def kd_loss(student_logits, teacher_logits, targets, *, temperature, alpha):
    """alpha * cross_entropy(student, targets) + (1 - alpha) * distillation_loss(...)."""
    check_number("alpha", alpha, low=0, high=1)
    if not torch.is_tensor(targets) or targets.dtype != torch.int64 or targets.shape != student_logits.shape[:1]:
        got = f"{targets.dtype} of shape {tuple(targets.shape)}" if torch.is_tensor(targets) else repr(targets)
        raise ValueError(f"targets must be an int64 tensor of class indices, one per row ({len(student_logits)}), got {got}")
    hard = F.cross_entropy(student_logits, targets)
    soft = distillation_loss(student_logits, teacher_logits, temperature=temperature)
    return alpha * hard + (1 - alpha) * soft


def soft_targets(logits, temperature):
    """softmax(logits / T) over the last dimension (the classes): the softened probabilities."""
    check_number("temperature", temperature, low=0, low_open=True)
    return F.softmax(logits / temperature, dim=-1)
