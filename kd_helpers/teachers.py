"""Getting a teacher: load it if a checkpoint of the same config and recipe exists, else train and save it."""
import time

from filelock import FileLock

from .checkpoints import CorruptCheckpoint, checkpoint_path, load_checkpoint, plain, save_checkpoint
from .data import jitter, load_mnist
from .models import make_model
from .training import evaluate, fit
from .utils import choose_device, machine

TEACHER_RECIPE = {"epochs": 10, "batch_size": 128, "lr": 1e-3, "schedule": "cosine", "seed": 0}
# Up to 150 epochs of 2-pixel jitter, the rate halved on plateaus, stopped 8 epochs after the
# validation errors last improved.
PAPER_TEACHER_RECIPE = {"epochs": 150, "batch_size": 128, "lr": 1e-3, "schedule": "plateau", "patience": 8,
                        "jitter_pixels": 2, "seed": 0}


def train_on_mnist(model, recipe, progress=None):
    """The default way to train a teacher: fit on MNIST's training split with the recipe (its
    jitter_pixels key, if any, shifts the images anew every epoch). Returns the info saved with it:
    fit's history (the learning curves), the training time, the test errors and the machine."""
    data, recipe, start = load_mnist(), dict(recipe), time.perf_counter()
    pixels = recipe.pop("jitter_pixels", 0)
    augment = (lambda x, generator: jitter(x, pixels, generator)) if pixels else None
    history = fit(model, data.train_x, data.train_y, val=(data.val_x, data.val_y), augment=augment,
                  progress=progress, desc="teacher", **recipe)
    seconds, test = time.perf_counter() - start, evaluate(model, data.test_x, data.test_y)
    return {"history": history, "seconds": seconds, "test_errors": test.errors, "test_accuracy": test.accuracy,
            "machine": machine()}


def load_or_train(name, config, recipe, train=None, *, device=None, progress=None):
    """Return (model in eval mode on the device, info): the checkpoint of this name, config and recipe
    when one exists (checkpoint_path), else make_model(config, seed=recipe["seed"]) trained by
    train(model, recipe) -> info (default: train_on_mnist) and saved. A file lock makes parallel
    kernels wait for one training instead of each training its own."""
    path, device = checkpoint_path(name, config, recipe), device or choose_device()
    with FileLock(f"{path}.lock"):
        if path.is_file():
            try:
                model, saved_config, saved_recipe, info = load_checkpoint(path)
                if saved_config == config and saved_recipe == plain(recipe):
                    return model.to(device), {**info, "checkpoint": path.name, "trained_now": False}
                print(f"{path.name} holds {saved_config} trained with {saved_recipe}: training anew")
            except CorruptCheckpoint as err:
                print(f"{err}: training anew")
        model = make_model(config, seed=recipe["seed"]).to(device)
        train = train or (lambda m, r: train_on_mnist(m, r, progress))
        info = plain(train(model, recipe))
        save_checkpoint(model, path, recipe=recipe, info=info)
    return model.eval(), {**info, "checkpoint": path.name, "trained_now": True}
