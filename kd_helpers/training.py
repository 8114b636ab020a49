"""The one training loop, evaluation, and the teacher's cached logits, shared by every notebook."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pathlib import Path

from .checkpoints import checkpoint_path, load_checkpoint, save_checkpoint
from .data import batch_indices, jitter, load_mnist
from .losses import kd_loss
from .models import PAPER_TEACHER_CONFIG, TEACHER_CONFIG, make_model, make_student
from .utils import choose_device, progress_bar, seed_everything

# Default recipes (chosen and explained in notebooks 04 and 05).
TEACHER_RECIPE = {"epochs": 10, "batch_size": 128, "lr": 1e-3, "schedule": "cosine", "seed": 0}
STUDENT_RECIPE = {"epochs": 3, "batch_size": 128, "lr": 5e-3, "schedule": None, "seed": 0}
# Notebook 07's paper-style teacher: up to 150 epochs of 2-pixel jitter, the rate halved on plateaus,
# stopped 8 epochs after the validation errors last improved.
PAPER_TEACHER_RECIPE = {"epochs": 150, "batch_size": 128, "lr": 1e-3, "schedule": "plateau", "patience": 8,
                        "jitter_pixels": 2, "seed": 0}


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
    or loss_fn(student_logits, targets, teacher_logits_batch) when you pass your own. For your own
    loss, teacher_logits may also be a tuple of tensors aligned with x (say logits and hidden
    features); loss_fn then receives the tuple of their rows for the batch.
    optimizer.step() runs once per batch; batch_scheduler (for per-batch schedules such as
    OneCycleLR) steps right after it. Epoch-based schedules are stepped by the caller.
    """
    model.train()
    total = 0.0
    for idx in batch_indices(len(y), batch_size, generator=generator):
        logits = model(x[idx])
        if teacher_logits is None:
            teacher_batch = None
        elif isinstance(teacher_logits, (tuple, list)):  # e.g. (logits, hidden features), each aligned with x
            teacher_batch = tuple(t[idx] for t in teacher_logits)
        else:
            teacher_batch = teacher_logits[idx]
        if loss_fn is not None:
            loss = loss_fn(logits, y[idx], teacher_batch)
        elif teacher_batch is None:
            loss = F.cross_entropy(logits, y[idx])
        else:
            loss = kd_loss(logits, teacher_batch, y[idx], temperature=temperature, alpha=alpha)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if hasattr(model, "apply_max_norm"):
            model.apply_max_norm()  # a no-op unless the model was built with max_norm
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += loss.item() * len(idx)
    return total / len(y)


def fit(model, x, y, *, epochs, batch_size, lr, schedule=None, seed=0, val=None, patience=None, jitter_pixels=0,
        teacher_logits=None, temperature=1.0, alpha=0.0, loss_fn=None, extra_params=(), progress=None,
        desc="training"):
    """Adam for at most `epochs` epochs. The seed fixes the initial batch order, dropout and jitter.

    schedule: None (constant rate), "cosine" (annealed once per epoch over `epochs`), or
      "plateau" (ReduceLROnPlateau: the rate halves when the validation errors have not improved
      for 2 epochs; needs val).
    patience: early stopping. Training stops once the validation errors have not improved for
      `patience` epochs, and the weights of the best epoch are put back (needs val).
    jitter_pixels: shift every training image by up to this many pixels, anew every epoch.
    extra_params: parameters outside the model that loss_fn uses and Adam should train too
      (notebook 10's regressor from the student's hidden layer to the teacher's).
    Returns a history dict of per-epoch lists (train_loss, lr, and val_loss / val_accuracy /
    val_errors when val=(x, y) is given) and best_epoch (the epoch with the fewest validation errors;
    with patience the model ends with that epoch's weights, without it with the last epoch's)."""
    if (schedule == "plateau" or patience is not None) and val is None:
        raise ValueError(f"schedule={schedule!r} and patience={patience!r} choose on the validation set: pass val=(x, y)")
    if patience is not None and (not isinstance(patience, int) or patience < 1):
        raise ValueError(f"patience must be None or a whole number >= 1, got {patience!r}")
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device  # the data follows the model (a no-op on the CPU)
    x, y = x.to(device), y.to(device)
    if isinstance(teacher_logits, (tuple, list)):
        teacher_logits = tuple(t.to(device) for t in teacher_logits)
    elif teacher_logits is not None:
        teacher_logits = teacher_logits.to(device)
    params = list(model.parameters()) + list(extra_params)
    # fused=True: one kernel for the whole Adam update, ~25% faster per step for small models
    optimizer = torch.optim.Adam(params, lr=lr, fused=device.type in ("cpu", "cuda"))
    scheduler = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    elif schedule == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)
    elif schedule is not None:
        raise ValueError(f"schedule must be None, 'cosine' or 'plateau', got {schedule!r}")
    history = {k: [] for k in ("epoch", "lr", "train_loss", "val_loss", "val_accuracy", "val_errors")}
    history["best_epoch"] = None
    best_errors, best_state = None, None
    bar = progress_bar(range(1, epochs + 1), progress, desc=desc, unit="epoch")
    for epoch in bar:
        history["lr"].append(optimizer.param_groups[0]["lr"])
        epoch_x = jitter(x, jitter_pixels, generator) if jitter_pixels else x
        train_loss = train_epoch(model, epoch_x, y, optimizer, batch_size=batch_size, generator=generator,
                                 teacher_logits=teacher_logits, temperature=temperature, alpha=alpha,
                                 loss_fn=loss_fn)
        history["epoch"].append(epoch)
        history["train_loss"].append(train_loss)
        if val is not None:
            result = evaluate(model, *val)
            history["val_loss"].append(result.loss)
            history["val_accuracy"].append(result.accuracy)
            history["val_errors"].append(result.errors)
            bar.set_postfix(val_errors=result.errors)
            if best_errors is None or result.errors < best_errors:
                best_errors, history["best_epoch"] = result.errors, epoch
                if patience is not None:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if schedule == "plateau":
            scheduler.step(history["val_errors"][-1])  # after the epoch, on the number it watches
        elif scheduler is not None:
            scheduler.step()  # once per epoch, after that epoch's optimizer steps
        if patience is not None and epoch - history["best_epoch"] >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)  # early stopping keeps the best epoch's weights
    return history


def train_model(config, data, recipe, progress=None, device=None, desc="teacher"):
    """make_model(config) (initial weights fixed by recipe["seed"]) trained on data.train_x with
    fit(**recipe); the validation split is passed for curves, early stopping and plateaus."""
    model = make_model(config, seed=recipe["seed"]).to(device or choose_device())
    history = fit(model, data.train_x, data.train_y, val=(data.val_x, data.val_y), progress=progress, desc=desc,
                  **recipe)
    return model, history


def train_teacher(data, recipe=None, progress=None, device=None):
    """The course's teacher (784-1200-1200-10, dropout 0.5) trained on data.train_x with a recipe
    (TEACHER_RECIPE, updated by the keys you pass)."""
    return train_model(TEACHER_CONFIG, data, {**TEACHER_RECIPE, **(recipe or {})}, progress, device)


def teacher_path(recipe=None):
    """Where the teacher trained with recipe is kept: checkpoints/teacher.pt for TEACHER_RECIPE,
    else one file per recipe (say 2 epochs in notebook 04), so the default one is never replaced."""
    return checkpoint_path("teacher", recipe, TEACHER_RECIPE)


def load_or_train(path, config, recipe, data=None, progress=None, device=None):
    """Load the model of architecture config from path if a valid checkpoint is there, else
    train it with train_model(config, data, recipe), save it with its test errors, and return
    (model in eval mode on the device, info). Used for every teacher: the MLP of notebook 04,
    the paper-style MLP of 07 and the convolutional net of 10.

    A missing or corrupt file means 'no valid checkpoint': the model is (re)trained.
    A readable checkpoint of another architecture raises instead of being overwritten."""
    path, device = Path(path), device or choose_device()
    if path.is_file():
        try:
            model, info = load_checkpoint(path, expected_config=config)
            return model.to(device), info
        except ValueError as err:
            if "truncated or corrupt" not in str(err):
                raise
            print(f"{err} -> training a new model")
    data = data if data is not None else load_mnist()
    model, history = train_model(config, data, recipe, progress, device)
    test = evaluate(model, data.test_x, data.test_y)
    info = {"test_accuracy": test.accuracy, "test_errors": test.errors, "recipe": recipe,
            "epochs_trained": len(history["epoch"]), "best_epoch": history["best_epoch"],
            "val_errors": history["val_errors"], "lr": history["lr"]}
    save_checkpoint(model, path, **info)
    return model.eval(), info


def load_or_train_teacher(path=None, data=None, recipe=None, progress=None):
    """The course's default teacher: loaded from path (default: teacher_path(recipe)), or trained
    with TEACHER_RECIPE updated by recipe and saved there."""
    recipe = {**TEACHER_RECIPE, **(recipe or {})}
    return load_or_train(path if path is not None else teacher_path(recipe), TEACHER_CONFIG, recipe, data, progress)


def load_or_train_paper_teacher(path=None, data=None, recipe=None, progress=None):
    """Notebook 07's paper-style teacher (PAPER_TEACHER_CONFIG, PAPER_TEACHER_RECIPE updated by recipe)."""
    recipe = {**PAPER_TEACHER_RECIPE, **(recipe or {})}
    path = path if path is not None else checkpoint_path("paper_teacher", recipe, PAPER_TEACHER_RECIPE)
    return load_or_train(path, PAPER_TEACHER_CONFIG, recipe, data, progress)


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
