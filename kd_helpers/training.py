"""The one training loop, evaluation, and the teacher's cached logits, shared by every notebook."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import batch_indices
from .losses import kd_loss
from .models import make_student
from .utils import choose_device, progress_bar, seed_everything

# Default recipes (chosen and explained in notebooks 04 and 05).
TEACHER_RECIPE = {"epochs": 10, "batch_size": 128, "lr": 1e-3, "schedule": "cosine", "seed": 0}
STUDENT_RECIPE = {"epochs": 3, "batch_size": 128, "lr": 5e-3, "schedule": None, "seed": 0}


@dataclass
class EvalResult:
    accuracy: float  # fraction correct
    errors: int  # number of misclassified examples
    loss: float  # mean cross-entropy per example (not a sum of batch means)
    n: int  # number of examples


@torch.no_grad()
def predict_logits(model, x, batch_size=2000):
    """Logits of model on x in eval mode (dropout off), without building a graph."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return out


def cache_teacher_logits(teacher, x):
    """Run the frozen teacher once over x. Row i belongs to example i, so a shuffled batch
    of indices idx reads its targets as logits[idx]. Valid while the teacher is frozen and
    the inputs are not augmented (the same image always gives the same logits)."""
    return predict_logits(teacher, x)


def evaluate(model, x, y, temperature=1.0):
    """Accuracy, error count and mean per-example cross-entropy of model on (x, y)."""
    logits = predict_logits(model, x)
    loss = F.cross_entropy(logits / temperature, y, reduction="sum").item() / len(y)
    errors = int((logits.argmax(dim=1) != y).sum())
    return EvalResult(accuracy=1 - errors / len(y), errors=errors, loss=loss, n=len(y))


def train_epoch(model, x, y, optimizer, *, batch_size, generator=None, teacher_logits=None,
                temperature=1.0, alpha=0.0, loss_fn=None, batch_scheduler=None):
    """One pass over (x, y) in shuffled mini-batches; returns the mean training loss per example.

    Loss: cross-entropy on the labels, or kd_loss when teacher_logits (aligned with x) are given,
    or loss_fn(student_logits, targets, teacher_logits_batch) when you pass your own.
    optimizer.step() runs once per batch; batch_scheduler (for per-batch schedules such as
    OneCycleLR) steps right after it. Epoch-based schedules are stepped by the caller.
    """
    model.train()
    total = 0.0
    for idx in batch_indices(len(y), batch_size, generator=generator):
        logits = model(x[idx])
        teacher_batch = None if teacher_logits is None else teacher_logits[idx]
        if loss_fn is not None:
            loss = loss_fn(logits, y[idx], teacher_batch)
        elif teacher_batch is None:
            loss = F.cross_entropy(logits, y[idx])
        else:
            loss = kd_loss(logits, teacher_batch, y[idx], temperature=temperature, alpha=alpha)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += loss.item() * len(idx)
    return total / len(y)


def fit(model, x, y, *, epochs, batch_size, lr, schedule=None, seed=0, val=None,
        teacher_logits=None, temperature=1.0, alpha=0.0, loss_fn=None, progress=None, desc="training"):
    """Adam for `epochs` epochs; schedule="cosine" anneals the rate once per epoch.

    The seed fixes dropout and the batch order. Returns a history dict of per-epoch lists
    (train_loss, lr, and val_loss / val_accuracy / val_errors when val=(x, y) is given)."""
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device  # the data follows the model (a no-op on the CPU)
    x, y = x.to(device), y.to(device)
    teacher_logits = None if teacher_logits is None else teacher_logits.to(device)
    # fused=True: one kernel for the whole Adam update, ~25% faster per step for small models
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, fused=device.type in ("cpu", "cuda"))
    scheduler = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    elif schedule is not None:
        raise ValueError(f"schedule must be None or 'cosine', got {schedule!r}")
    history = {k: [] for k in ("epoch", "lr", "train_loss", "val_loss", "val_accuracy", "val_errors")}
    bar = progress_bar(range(1, epochs + 1), progress, desc=desc, unit="epoch")
    for epoch in bar:
        history["lr"].append(optimizer.param_groups[0]["lr"])
        train_loss = train_epoch(model, x, y, optimizer, batch_size=batch_size, generator=generator,
                                 teacher_logits=teacher_logits, temperature=temperature, alpha=alpha,
                                 loss_fn=loss_fn)
        if scheduler is not None:
            scheduler.step()  # once per epoch, after that epoch's optimizer steps
        history["epoch"].append(epoch)
        history["train_loss"].append(train_loss)
        if val is not None:
            result = evaluate(model, *val)
            history["val_loss"].append(result.loss)
            history["val_accuracy"].append(result.accuracy)
            history["val_errors"].append(result.errors)
            bar.set_postfix(val_acc=f"{result.accuracy:.4f}")
    return history


def train_teacher(data, recipe=None, progress=None, device=None):
    """The course's teacher (784-1200-1200-10, dropout 0.5) trained on data.train_x with a recipe
    (TEACHER_RECIPE, updated by the keys you pass)."""
    from .models import make_teacher

    recipe = {**TEACHER_RECIPE, **(recipe or {})}
    teacher = make_teacher(seed=recipe["seed"]).to(device or choose_device())
    history = fit(teacher, data.train_x, data.train_y, val=(data.val_x, data.val_y), progress=progress,
                  desc="teacher", **recipe)
    return teacher, history


def train_student(x, y, *, hidden=(20, 20), teacher_logits=None, temperature=1.0, alpha=0.0,
                  val=None, progress=False, loss_fn=None, device=None, **recipe):
    """A fresh student (initial weights fixed by recipe seed) trained from scratch on (x, y),
    or distilled when teacher_logits aligned with x are given. Returns (model, history).
    recipe: any of epochs, batch_size, lr, schedule, seed (defaults: STUDENT_RECIPE)."""
    recipe = {**STUDENT_RECIPE, **recipe}
    student = make_student(hidden, seed=recipe["seed"]).to(device or choose_device())
    history = fit(student, x, y, val=val, teacher_logits=teacher_logits, temperature=temperature,
                  alpha=alpha, loss_fn=loss_fn, progress=progress, desc="student", **recipe)
    return student, history


def student_errors(x, y, eval_x, eval_y, seeds, **kwargs):
    """Train one student per seed with train_student(x, y, seed=s, **kwargs) and return the
    list of their error counts on (eval_x, eval_y): the raw material of every sweep."""
    return [evaluate(train_student(x, y, seed=s, **kwargs)[0], eval_x, eval_y).errors for s in seeds]
