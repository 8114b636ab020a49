"""The one training loop, evaluation, and the teacher's logits computed once."""
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F

from .data import batch_indices
from .losses import kd_loss
from .models import STUDENT, make_student
from .utils import check_number, choose_device, progress_bar, seed_everything

STUDENT_RECIPE = {"epochs": 3, "batch_size": 128, "lr": 5e-3, "schedule": None, "seed": 0}


@dataclass
class EvalResult:
    accuracy: float  # fraction correct
    errors: int  # number of misclassified examples
    loss: float  # mean cross-entropy per example (not a mean of batch means)
    n: int  # number of examples


@torch.no_grad()
def predict_logits(model, x, batch_size=2000):
    """Logits of model on x in eval mode (dropout off), without building a graph, on the CPU.
    Run a frozen teacher once over the training images and row i belongs to image i: a shuffled
    batch idx then reads its targets as logits[idx] (valid while the inputs are not augmented)."""
    was_training, device = model.training, next(model.parameters()).device
    try:
        model.eval()
        return torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model, x, y):
    """Accuracy, error count and mean per-example cross-entropy of model on (x, y)."""
    logits, y = predict_logits(model, x), y.cpu()
    errors = int((logits.argmax(dim=1) != y).sum())
    loss = F.cross_entropy(logits, y, reduction="sum").item() / len(y)
    return EvalResult(accuracy=1 - errors / len(y), errors=errors, loss=loss, n=len(y))


def _rows(teacher, idx):  # the rows idx of the teacher's outputs: a tensor, a tuple of tensors, or None
    return teacher[idx] if torch.is_tensor(teacher) else teacher and tuple(t[idx] for t in teacher)


def train_epoch(model, x, y, optimizer, *, batch_size, loss_fn=None, teacher=None, generator=None,
                batch_scheduler=None):
    """One pass over (x, y) in shuffled mini-batches; returns the mean training loss per example.

    The loss is loss_fn(student_logits, teacher_rows, targets) (kd_loss's order: teacher holds the
    teacher's outputs aligned with x), or cross-entropy on the labels without loss_fn.
    optimizer.step() runs once per batch; batch_scheduler (a per-batch schedule such as OneCycleLR)
    steps right after it. An epoch-based schedule is stepped by the caller, after the epoch."""
    model.train()
    total = 0.0
    for idx in batch_indices(len(y), batch_size, generator=generator):
        logits = model(x[idx])
        loss = F.cross_entropy(logits, y[idx]) if loss_fn is None else loss_fn(logits, _rows(teacher, idx), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if hasattr(model, "apply_max_norm"):
            model.apply_max_norm()  # a no-op unless the model was built with max_norm
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += loss.item() * len(idx)
    return total / len(y)


def _optimizer(optimizer, params, lr, device):
    if callable(optimizer):
        return optimizer(params, lr)  # say lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9)
    if optimizer != "adam":
        raise ValueError(f"optimizer must be 'adam' or a callable (params, lr) -> optimizer, got {optimizer!r}")
    return torch.optim.Adam(params, lr=lr, fused=device.type in ("cpu", "cuda"))  # one kernel per update


def _scheduler(schedule, optimizer, epochs):
    if schedule is None or callable(schedule):
        return schedule and schedule(optimizer, epochs)
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if schedule == "plateau":  # halve the rate after 2 epochs without a better validation score
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)
    raise ValueError(f"schedule must be None, 'cosine', 'plateau' or a callable, got {schedule!r}")


def _validate(model, val, monitor, history):
    """Evaluate on the validation split, append to history, return the score to minimise."""
    result = evaluate(model, *val)
    for key, value in (("val_loss", result.loss), ("val_accuracy", result.accuracy), ("val_errors", result.errors)):
        history[key].append(value)
    if monitor is None:
        return result.errors
    history["val_monitor"].append(float(monitor(model)))
    return history["val_monitor"][-1]


def fit(model, x, y, *, epochs, batch_size, lr, loss_fn=None, teacher=None, optimizer="adam", schedule=None,
        seed=0, val=None, patience=None, monitor=None, augment=None, extra_params=(), progress=None, desc="training"):
    """Train model on (x, y) for at most `epochs` epochs and return its history (a dict of per-epoch lists,
    and best_epoch). It first reseeds everything with `seed`: batch order, dropout and augment repeat.

    loss_fn, teacher: as in train_epoch. optimizer: "adam" or a callable (params, lr) -> optimizer.
    schedule: None, "cosine", "plateau" (halves the rate on a validation plateau) or a callable
    (optimizer, epochs) -> scheduler, stepped once per epoch. val=(x, y): validation curves; the score is
    the validation errors, or monitor(model) if given (lower is better). patience: stop once the score
    has not improved for that many epochs and put back the best epoch's weights. augment(x, generator):
    new training inputs each epoch (say a jitter). extra_params: trained too (say a regressor in loss_fn)."""
    if (schedule == "plateau" or patience is not None or monitor is not None) and val is None:
        raise ValueError("schedule='plateau', patience and monitor watch the validation split: pass val=(x, y)")
    patience = None if patience is None else check_number("patience", patience, low=1, integer=True)
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device  # the data follows the model (a no-op on the CPU)
    x, y = x.to(device), y.to(device)
    teacher = teacher.to(device) if torch.is_tensor(teacher) else teacher and tuple(t.to(device) for t in teacher)
    opt = _optimizer(optimizer, list(model.parameters()) + list(extra_params), lr, device)
    scheduler = _scheduler(schedule, opt, epochs)
    history = {k: [] for k in ("epoch", "lr", "train_loss", "val_loss", "val_accuracy", "val_errors", "val_monitor")}
    best, history["best_epoch"], best_state = None, None, None
    for epoch in progress_bar(range(1, epochs + 1), progress, desc=desc, unit="epoch"):
        history["lr"].append(opt.param_groups[0]["lr"])
        epoch_x = augment(x, generator) if augment is not None else x
        history["train_loss"].append(train_epoch(model, epoch_x, y, opt, batch_size=batch_size, loss_fn=loss_fn,
                                                 teacher=teacher, generator=generator))
        history["epoch"].append(epoch)
        score = _validate(model, val, monitor, history) if val is not None else None
        if score is not None and (best is None or score < best):
            best, history["best_epoch"] = score, epoch
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()} if patience else None
        if scheduler is not None:
            scheduler.step(score) if schedule == "plateau" else scheduler.step()
        if patience is not None and epoch - history["best_epoch"] >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)  # early stopping keeps the best epoch's weights
    return history


def train_student(x, y, *, hidden=STUDENT.hidden, teacher_logits=None, temperature=1.0, alpha=0.0, val=None,
                  device=None, progress=False, **recipe):
    """A fresh student (initial weights fixed by the recipe's seed) trained from scratch on (x, y), or
    distilled with kd_loss when teacher_logits aligned with x are given. Returns (model, history).
    recipe: STUDENT_RECIPE's keys and any other keyword of fit."""
    recipe = {**STUDENT_RECIPE, **recipe}
    student = make_student(hidden, seed=recipe["seed"]).to(device or choose_device())
    if teacher_logits is not None:
        recipe.setdefault("loss_fn", partial(kd_loss, temperature=temperature, alpha=alpha))
    history = fit(student, x, y, val=val, teacher=teacher_logits, progress=progress, desc="student", **recipe)
    return student, history


def errors_per_seed(x, y, eval_x, eval_y, seeds, **kwargs):
    """Train one student per seed with train_student(x, y, seed=s, **kwargs) and return the list of
    their error counts on (eval_x, eval_y): the raw material of every sweep."""
    return [evaluate(train_student(x, y, seed=s, **kwargs)[0], eval_x, eval_y).errors for s in seeds]
