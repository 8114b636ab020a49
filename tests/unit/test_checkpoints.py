"""kd_helpers.checkpoints (save, load, recipe-keyed paths) and kd_helpers.teachers.load_or_train
(train once, then load; another recipe or config is another file; stale and corrupt files are retrained).
Every test works in a checkpoint folder of its own (the `checkpoints` fixture sets KD_CHECKPOINT_DIR)."""
import re
import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import kd_helpers.teachers as teachers
from kd_helpers import (CONV_TEACHER, STUDENT, ConvConfig, CorruptCheckpoint, MLPConfig, checkpoint_path, evaluate,
                        load_checkpoint, load_or_train, make_model, make_student, register_config, save_checkpoint)

RECIPE = {"epochs": 1, "batch_size": 32, "lr": 1e-3, "schedule": None, "seed": 0}


def same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


@register_config
@dataclass(frozen=True)
class TinyConfig:
    """A config class of the tests' own: register_config lets a checkpoint rebuild it."""

    width: int = 3

    def build(self):
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, self.width), nn.ReLU(), nn.Linear(self.width, 10))
        model.config = self
        return model


# -- save and load ----------------------------------------------------------------------------------


def test_round_trip_keeps_weights_config_recipe_and_info(tmp_path):
    model = make_student((30, 30), seed=0)
    recipe = {**RECIPE, "hidden": (30, 30)}
    path = save_checkpoint(model, tmp_path / "sub" / "m.pt", recipe=recipe, info={"acc": np.float64(0.5), "n": 3})
    loaded, config, saved_recipe, info = load_checkpoint(path)
    assert same_weights(model, loaded) and not loaded.training
    assert config == model.config == loaded.config == MLPConfig(hidden=(30, 30))
    assert saved_recipe == {**RECIPE, "hidden": [30, 30]}  # stored as JSON would give it back
    assert info == {"acc": 0.5, "n": 3} and type(info["acc"]) is float
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["m.pt"]  # no temporary file left behind


def test_the_file_holds_the_config_and_the_recipe_as_plain_data(tmp_path):
    path = save_checkpoint(make_model(CONV_TEACHER, seed=0), tmp_path / "c.pt", recipe=RECIPE)
    payload = torch.load(path, weights_only=True)  # plain data only: no pickled classes
    assert payload["config_class"] == "ConvConfig"
    assert ConvConfig(**payload["config"]) == CONV_TEACHER and payload["recipe"] == RECIPE
    assert payload["info"] == {}
    assert load_checkpoint(path)[1] == CONV_TEACHER


def test_a_registered_config_of_ones_own_round_trips(tmp_path):
    model = make_model(TinyConfig(width=5), seed=1)
    loaded, config, _, _ = load_checkpoint(save_checkpoint(model, tmp_path / "t.pt", recipe={}))
    assert config == TinyConfig(width=5) and same_weights(model, loaded)


def test_info_must_be_plain_data(tmp_path):
    with pytest.raises(TypeError, match="plain numbers, strings and lists, got <object"):
        save_checkpoint(make_student(seed=0), tmp_path / "m.pt", recipe={}, info={"x": object()})


def test_missing_truncated_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "absent.pt")
    path = save_checkpoint(make_student(seed=0), tmp_path / "m.pt", recipe=RECIPE)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpoint, match=re.escape(f"checkpoint {path} is unreadable")):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CorruptCheckpoint):
        load_checkpoint(path)
    torch.save({"config_class": "NoSuchConfig", "config": {}, "state_dict": {}, "recipe": {}, "info": {}}, path)
    with pytest.raises(CorruptCheckpoint, match="NoSuchConfig"):
        load_checkpoint(path)
    assert issubclass(CorruptCheckpoint, ValueError)


def test_a_failed_save_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(make_student(seed=0), tmp_path / "m.pt", recipe=RECIPE, info={"note": "old"})
    real_save = torch.save

    def save_half_then_fail(obj, f):
        real_save(obj, f)
        with open(f, "r+b") as handle:
            handle.truncate(100)
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(make_student(seed=1), path, recipe=RECIPE, info={"note": "new"})
    monkeypatch.undo()
    model, _, _, info = load_checkpoint(path)
    assert info == {"note": "old"} and same_weights(model, make_student(seed=0))


def test_a_config_holding_numpy_numbers_round_trips(tmp_path):
    model = make_model(MLPConfig(hidden=(5,), dropout=np.float64(0.5)), seed=0)
    loaded, config, _, _ = load_checkpoint(save_checkpoint(model, tmp_path / "m.pt", recipe=RECIPE))
    assert config == MLPConfig(hidden=(5,), dropout=0.5) and same_weights(model, loaded)


# -- checkpoint_path ------------------------------------------------------------------------------


def test_checkpoint_path_is_named_by_config_and_recipe(checkpoints):
    path = checkpoint_path("teacher", STUDENT, RECIPE)
    assert path.parent == checkpoints and re.fullmatch(r"teacher-[0-9a-f]{8}\.pt", path.name)
    assert checkpoint_path("teacher", MLPConfig(hidden=[20, 20]), dict(reversed(list(RECIPE.items())))) == path
    others = [checkpoint_path("teacher", STUDENT, {**RECIPE, "epochs": 2}),
              checkpoint_path("teacher", STUDENT, {**RECIPE, "lr": 2e-3}),
              checkpoint_path("teacher", STUDENT, {**RECIPE, "jitter_pixels": 2}),
              checkpoint_path("teacher", MLPConfig(hidden=(20, 20), dropout=0.1), RECIPE),
              checkpoint_path("teacher", ConvConfig(), RECIPE),
              checkpoint_path("other", STUDENT, RECIPE)]
    assert len({path, *others}) == 7  # another recipe, config or name: another file


def test_numpy_numbers_in_a_recipe_name_the_same_file(checkpoints):
    assert checkpoint_path("t", STUDENT, {"epochs": np.int64(3)}) == checkpoint_path("t", STUDENT, {"epochs": 3})


# -- load_or_train --------------------------------------------------------------------------------


class Trainer:
    """A train(model, recipe) -> info for load_or_train: a short fit on toy data, counting its calls."""

    def __init__(self, data, pause=0.0):
        self.data, self.pause, self.calls, self.initial = data, pause, [], []

    def __call__(self, model, recipe):
        self.calls.append(dict(recipe))
        self.initial.append({k: v.clone() for k, v in model.state_dict().items()})
        time.sleep(self.pause)
        x, y = self.data
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "curve": [1, 2]}


def test_load_or_train_trains_once_then_loads(checkpoints, toy_data, capsys):
    train = Trainer(toy_data(64))
    model, info = load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    assert len(train.calls) == 1 and train.calls[0] == RECIPE
    assert all(torch.equal(v, train.initial[0][k]) for k, v in make_model(STUDENT, seed=0).state_dict().items())
    path = checkpoint_path("toy", STUDENT, RECIPE)
    assert path.is_file() and info == {"loss": info["loss"], "curve": [1, 2], "checkpoint": path.name,
                                       "trained_now": True}
    assert not model.training and next(model.parameters()).device.type == "cpu"
    again, info2 = load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    assert len(train.calls) == 1 and info2 == {**info, "trained_now": False}
    assert same_weights(model, again) and not again.training
    assert capsys.readouterr().out == ""  # nothing to report


def test_another_recipe_is_another_file_and_another_training(checkpoints, toy_data):
    train = Trainer(toy_data(64))
    load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    load_or_train("toy", STUDENT, {**RECIPE, "seed": 1}, train, device="cpu")
    load_or_train("toy", MLPConfig(hidden=(8,)), RECIPE, train, device="cpu")
    assert len(train.calls) == 3 and len(list(checkpoints.glob("toy-*.pt"))) == 3
    assert all(torch.equal(v, train.initial[1][k]) for k, v in make_model(STUDENT, seed=1).state_dict().items())
    load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    assert len(train.calls) == 3  # the first one is still there, untouched


def test_a_stored_file_with_another_recipe_is_retrained_with_a_message(checkpoints, toy_data, capsys):
    train = Trainer(toy_data(64))
    path = checkpoint_path("toy", STUDENT, RECIPE)
    save_checkpoint(make_student(seed=5), path, recipe={**RECIPE, "epochs": 99}, info={})  # a stale file
    model, info = load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    assert len(train.calls) == 1 and info["trained_now"]
    out = capsys.readouterr().out
    assert path.name in out and "'epochs': 99" in out and "training anew" in out
    assert load_checkpoint(path)[2] == RECIPE  # replaced by the right one
    assert load_or_train("toy", STUDENT, RECIPE, train, device="cpu")[1]["trained_now"] is False


def test_a_stored_file_with_another_config_is_retrained_with_a_message(checkpoints, toy_data, capsys):
    train = Trainer(toy_data(64))
    path = checkpoint_path("toy", STUDENT, RECIPE)
    save_checkpoint(make_student((7,), seed=0), path, recipe=RECIPE)
    model, _ = load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    assert len(train.calls) == 1 and model.config == STUDENT
    assert "hidden=(7,)" in capsys.readouterr().out


def test_a_corrupt_file_raises_corrupt_checkpoint_inside_and_is_retrained(checkpoints, toy_data, capsys,
                                                                          monkeypatch):
    train = Trainer(toy_data(64))
    path = checkpoint_path("toy", STUDENT, RECIPE)
    load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    path.write_bytes(path.read_bytes()[:100])  # truncated, say by a kernel killed while copying
    raised = []

    def spy(p):
        try:
            return load_checkpoint(p)
        except Exception as err:
            raised.append(err)
            raise

    monkeypatch.setattr(teachers, "load_checkpoint", spy)
    model, info = load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    assert [type(err) for err in raised] == [CorruptCheckpoint]
    assert len(train.calls) == 2 and info["trained_now"]
    assert "is unreadable" in capsys.readouterr().out
    assert same_weights(load_checkpoint(path)[0], model)  # the file is whole again


def test_parallel_callers_train_once(checkpoints, toy_data):
    """The file lock: a second caller waits for the first one's training, then loads its file."""
    train = Trainer(toy_data(64), pause=0.5)
    results = []
    threads = [threading.Thread(target=lambda: results.append(load_or_train("toy", STUDENT, RECIPE, train,
                                                                            device="cpu")))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 2 and len(train.calls) == 1
    assert sorted(info["trained_now"] for _, info in results) == [False, True]
    assert same_weights(results[0][0], results[1][0])


def test_the_info_is_the_same_whether_trained_now_or_loaded(checkpoints):
    def train(model, recipe):
        return {"shape": (2, 3)}

    _, first = load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    _, second = load_or_train("toy", STUDENT, RECIPE, train, device="cpu")
    assert {**first, "trained_now": None} == {**second, "trained_now": None}


def test_the_default_training_is_fit_on_mnist_with_the_recipe(checkpoints, tiny_mnist, monkeypatch):
    """train_on_mnist, on a tiny MNISTSplits: validation curves, jitter once per epoch, test numbers."""
    monkeypatch.setattr(teachers, "load_mnist", lambda: tiny_mnist)
    shifts = []
    real_jitter = teachers.jitter

    def counting_jitter(x, max_shift, generator):
        shifts.append(max_shift)
        return real_jitter(x, max_shift, generator)

    monkeypatch.setattr(teachers, "jitter", counting_jitter)
    recipe = {"epochs": 3, "batch_size": 50, "lr": 1e-2, "schedule": "plateau", "patience": 5, "jitter_pixels": 1,
              "seed": 0}
    model, info = load_or_train("tiny", MLPConfig(hidden=(16,)), recipe, device="cpu", progress=False)
    assert shifts == [1, 1, 1]  # jitter_pixels: a new shift of the training images every epoch
    test = evaluate(model, tiny_mnist.test_x, tiny_mnist.test_y)
    assert info["test_errors"] == test.errors and info["test_accuracy"] == pytest.approx(test.accuracy)
    history = info["history"]  # fit's history, stored with the weights
    assert history["epoch"] == [1, 2, 3] and len(history["val_errors"]) == 3 and len(history["lr"]) == 3
    assert history["best_epoch"] == 1 + history["val_errors"].index(min(history["val_errors"]))
    # with patience set, the best epoch's weights are the ones kept
    assert evaluate(model, tiny_mnist.val_x, tiny_mnist.val_y).errors == min(history["val_errors"])
    assert info["seconds"] > 0
    _, again = load_or_train("tiny", MLPConfig(hidden=(16,)), recipe, device="cpu", progress=False)
    assert again["trained_now"] is False and shifts == [1, 1, 1]
