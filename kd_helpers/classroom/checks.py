"""One check harness for distillation losses: five properties of the KL soft loss.

    from kd_helpers.classroom import check_distillation_loss
    check_distillation_loss(my_loss)   # my_loss(student_logits, teacher_logits, temperature=T)

The loss under test is T^2 * KL(p || q) averaged over the batch, p = softmax(teacher / T),
q = softmax(student / T) (what kd_helpers.distillation_loss computes). It must be

    zero when equal      loss(z, z) == 0                        (KL(p || p) = 0)
    non-negative         loss(s, t) >= 0 for random s, t        (KL is never negative)
    batch-size free      the batch repeated twice gives the same loss (a mean over examples)
    gradient             d loss / d student == (q - p) * T / B  (T^2 kept, 1/B from batchmean)
    finite               loss and gradient finite for logits of size 1e4 (float64 and float32)

The check prints one line per property and returns a dict {property: True/False}. Each known
bug fails at least one property (the bug zoo runs it on each), so a new loss that passes all
five is, at least, not one of those bugs. A loss that differs from the KL form by a constant
offset, such as Hinton et al.'s soft-target cross-entropy -T^2 sum p log q (it equals
T^2 H(p) when the two agree), trains the same and fails only "zero when equal".

The harness works in float64, so that its numbers are exact enough to compare. "finite" runs
in float32 as well, because float64 hides float32-only failures: log(softmax(z / T)) written
by hand underflows to -inf in float32 once the logits' spread divided by T exceeds about 100,
in float64 only beyond about 745 (for the 1e4 logits here, T below about 20 only).
"""
import math

import torch

PROPERTIES = ("zero when equal", "non-negative", "batch-size free", "gradient", "finite")


def _value_and_grad(fn, student, teacher, temperature):
    """(loss as a float, gradient w.r.t. the student logits) of fn at these logits."""
    s = student.clone().requires_grad_(True)
    loss = fn(s, teacher.clone(), temperature=temperature)
    if not torch.is_tensor(loss) or loss.numel() != 1:
        raise ValueError(f"the loss must be a one-element tensor, got {loss!r:.60}")
    grad = torch.autograd.grad(loss, s, allow_unused=True)[0] if loss.requires_grad else None
    grad = torch.zeros_like(s) if grad is None else grad  # a loss that ignores the student
    return loss.item(), grad


def check_distillation_loss(fn, *, temperature=4.0, batch=8, classes=10, seed=0, tol=1e-4, verbose=True):
    """Run fn(student_logits, teacher_logits, temperature=T) through the five properties.

    Returns {property: passed}; prints one line per property (and which failed) when verbose."""
    g = torch.Generator().manual_seed(seed)
    student = 3 * torch.randn(batch, classes, generator=g, dtype=torch.float64)
    teacher = 3 * torch.randn(batch, classes, generator=g, dtype=torch.float64)
    T = float(temperature)
    results, notes = {}, {}

    value, _ = _value_and_grad(fn, teacher, teacher, T)
    results["zero when equal"] = abs(value) <= tol
    notes["zero when equal"] = f"loss(z, z) = {value:.4g}"

    value, grad = _value_and_grad(fn, student, teacher, T)
    results["non-negative"] = value >= -tol
    notes["non-negative"] = f"loss = {value:.4g}"

    doubled, _ = _value_and_grad(fn, student.repeat(2, 1), teacher.repeat(2, 1), T)
    results["batch-size free"] = abs(doubled - value) <= tol * max(1.0, abs(value))
    notes["batch-size free"] = f"batch of {batch}: {value:.4g}, the same batch twice: {doubled:.4g}"

    q, p = torch.softmax(student / T, dim=1), torch.softmax(teacher / T, dim=1)
    expected = (q - p) * T / batch
    scale = (grad.norm() / expected.norm()).item()
    cosine = torch.nn.functional.cosine_similarity(grad.flatten(), expected.flatten(), dim=0).item()
    worst = ((grad - expected).abs().max() / expected.abs().max()).item()
    results["gradient"] = bool(torch.allclose(grad, expected, atol=tol * expected.abs().max().item(), rtol=tol))
    notes["gradient"] = (f"|grad| / |(q - p) T / B| = {scale:.4g}, cosine {cosine:.3f}, "
                         f"max |grad - (q - p) T / B| / max |(q - p) T / B| = {worst:.3g}")

    huge_s, huge_t = student * 1e4 / student.abs().max(), teacher * 1e4 / teacher.abs().max()
    finite_values, finite_grads = [], []
    for dtype in (torch.float64, torch.float32):  # float32: where a hand-written log(softmax) underflows first
        value, grad = _value_and_grad(fn, huge_s.to(dtype), huge_t.to(dtype), T)
        finite_values.append(math.isfinite(value))
        finite_grads.append(bool(torch.isfinite(grad).all()))
    results["finite"] = all(finite_values) and all(finite_grads)
    notes["finite"] = (f"logits up to 1e4, float64 / float32: loss finite {finite_values[0]} / {finite_values[1]}, "
                       f"gradient finite {finite_grads[0]} / {finite_grads[1]}")

    if verbose:
        name = getattr(fn, "__name__", "the loss")
        for prop in PROPERTIES:
            print(f"{'ok  ' if results[prop] else 'FAIL'} {prop:16s} {notes[prop]}")
        failed = [prop for prop in PROPERTIES if not results[prop]]
        print(f"{name}: " + (f"fails {', '.join(failed)}" if failed else "passes all five checks"))
    return results
