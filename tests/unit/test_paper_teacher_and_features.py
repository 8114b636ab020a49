"""Notebook 07's paper-style teacher (jitter, input dropout, max-norm, early stopping) and
notebook 10's helpers (the convolutional teacher, hidden features, hint and cosine losses)."""
import pytest
import torch
import torch.nn.functional as F

from kd_helpers import (CONV_TEACHER_CONFIG, PAPER_TEACHER_CONFIG, HiddenRecorder, checkpoint_path, cosine_loss, fit,
                        hidden_features, hint_loss, jitter, load_checkpoint, load_or_train, make_model, make_student,
                        teacher_path)
from kd_helpers.data import MNISTSplits


def toy_data(n=256, seed=0):
    """A tiny learnable problem: the label is the brightest of 10 image bands."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
    y = torch.randint(0, 10, (n,), generator=g)
    for i in range(n):
        x[i, 0, 2 * y[i] + 4 : 2 * y[i] + 7, 4:24] += 0.8
    return x, y


def shifted(image, down, right):
    """An independent shift: torch.roll, then zero the rows and columns that wrapped around."""
    out = torch.roll(image, shifts=(down, right), dims=(-2, -1))
    if down > 0:
        out[..., :down, :] = 0
    elif down < 0:
        out[..., down:, :] = 0
    if right > 0:
        out[..., :, :right] = 0
    elif right < 0:
        out[..., :, right:] = 0
    return out


def test_jitter_shifts_each_image_whole_by_at_most_max_shift():
    x = torch.rand(300, 1, 28, 28)
    out = jitter(x, 2, torch.Generator().manual_seed(0))
    found = []
    for i in range(len(x)):  # every output is one of the 25 shifts of its own input
        matches = [(a, b) for a in range(-2, 3) for b in range(-2, 3) if torch.equal(out[i], shifted(x[i], a, b))]
        assert len(matches) == 1
        found.append(matches[0])
    assert len(set(found)) == 25  # all shifts occur
    torch.testing.assert_close(jitter(x, 2, torch.Generator().manual_seed(0)), out)  # seeded: reproducible
    assert torch.equal(jitter(x, 0), x)


def test_jitter_rejects_bad_arguments():
    with pytest.raises(ValueError, match="max_shift must be a whole number >= 0, got -1"):
        jitter(torch.zeros(2, 1, 28, 28), -1)
    with pytest.raises(ValueError, match="max_shift must be a whole number >= 0, got 1.5"):
        jitter(torch.zeros(2, 1, 28, 28), 1.5)
    with pytest.raises(ValueError, match=r"x must be a 4-D tensor \(N, C, H, W\), got \(2, 28, 28\)"):
        jitter(torch.zeros(2, 28, 28), 2)


def test_paper_teacher_config_input_dropout_and_max_norm():
    model = make_model(PAPER_TEACHER_CONFIG, seed=0)
    assert model.config == PAPER_TEACHER_CONFIG
    assert isinstance(model.net[1], torch.nn.Dropout) and model.net[1].p == 0.2  # the input pixels
    assert make_student(seed=0).config == {"hidden": [20, 20], "dropout": 0.0}  # older configs are unchanged
    with torch.no_grad():
        model.net[2].weight.mul_(50)  # make some rows far too long
    model.apply_max_norm()
    for layer in (m for m in model.net if isinstance(m, torch.nn.Linear)):
        norms = layer.weight.norm(dim=1)
        assert norms.max() <= 3.5 * (1 + 1e-5)
    assert (model.net[2].weight.norm(dim=1) > 3.49).all()  # the long rows were scaled down to the bound
    with pytest.raises(ValueError, match="input_dropout must be in \\[0, 1\\), got 1.0"):
        make_model({"hidden": [5], "input_dropout": 1.0})
    with pytest.raises(ValueError, match="max_norm must be None or > 0, got 0"):
        make_model({"hidden": [5], "max_norm": 0})


def test_fit_keeps_max_norm_after_every_step():
    x, y = toy_data(128)
    model = make_model({"hidden": [30, 30], "dropout": 0.0, "max_norm": 0.3}, seed=0)
    fit(model, x, y, epochs=3, batch_size=16, lr=5e-2, progress=False)
    norms = torch.cat([m.weight.norm(dim=1) for m in model.net if isinstance(m, torch.nn.Linear)])
    assert norms.max() <= 0.3 * (1 + 1e-5) and (norms > 0.299).any()  # it binds, and it holds


def test_early_stopping_keeps_the_best_epoch():
    x, y = toy_data(256)
    val = toy_data(64, seed=1)
    model = make_student((30, 30), seed=0)
    history = fit(model, x, y, epochs=40, batch_size=32, lr=5e-2, val=val, patience=3, schedule="plateau",
                  progress=False)
    best = history["best_epoch"]
    assert history["val_errors"][best - 1] == min(history["val_errors"])
    assert len(history["epoch"]) == best + 3 or len(history["epoch"]) == 40  # stopped 3 epochs after the best
    from kd_helpers import evaluate
    assert evaluate(model, *val).errors == min(history["val_errors"])  # the best weights were put back
    with pytest.raises(ValueError, match="choose on the validation set: pass val"):
        fit(model, x, y, epochs=1, batch_size=32, lr=1e-3, patience=2, progress=False)
    with pytest.raises(ValueError, match="patience must be None or a whole number >= 1, got 0"):
        fit(model, x, y, epochs=1, batch_size=32, lr=1e-3, val=val, patience=0, progress=False)


def test_plateau_schedule_halves_the_rate_when_validation_stalls():
    x, y = toy_data(64)
    model = make_student((30, 30), seed=0)
    history = fit(model, x, y, epochs=12, batch_size=64, lr=1e-6, val=(x, y), schedule="plateau", progress=False)
    assert history["lr"][0] == pytest.approx(1e-6) and history["lr"][-1] <= 0.5e-6  # no progress: halved
    assert all(lr / 1e-6 in (1, 0.5, 0.25, 0.125, 0.0625) for lr in history["lr"])


def test_conv_net_shapes_config_and_kind_check():
    model = make_model(CONV_TEACHER_CONFIG, seed=0)
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert model.config == CONV_TEACHER_CONFIG
    again = make_model(CONV_TEACHER_CONFIG, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters()))
    with pytest.raises(ValueError, match="config\\['kind'\\] must be 'mlp' or 'conv', got 'rnn'"):
        make_model({"kind": "rnn", "hidden": [5]})


def test_load_or_train_works_for_the_conv_teacher(tmp_path):
    x, y = toy_data(96)
    data = MNISTSplits(x[:64], y[:64], x[64:], y[64:], x[64:], y[64:])
    recipe = {"epochs": 1, "batch_size": 32, "lr": 1e-3, "schedule": None, "seed": 0}
    path = tmp_path / "conv.pt"
    model, info = load_or_train(path, CONV_TEACHER_CONFIG, recipe, data=data, progress=False)
    loaded, info2 = load_checkpoint(path, expected_config=CONV_TEACHER_CONFIG)
    assert info2["test_errors"] == info["test_errors"] and info["epochs_trained"] == 1
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), loaded.state_dict().values()))


def test_checkpoint_paths_name_the_recipe(monkeypatch, tmp_path):
    monkeypatch.setenv("KD_CHECKPOINT_DIR", str(tmp_path))
    assert teacher_path() == tmp_path / "teacher.pt"
    assert checkpoint_path("conv", {"epochs": 2}, {"epochs": 3, "lr": 0.1}) == tmp_path / "conv_epochs2_lr0.1.pt"
    assert checkpoint_path("conv", None, {"epochs": 3}) == tmp_path / "conv.pt"


def test_hidden_recorder_and_hidden_features_match_a_manual_forward():
    model = make_student((30, 20), seed=0)
    x = torch.rand(7, 1, 28, 28)
    manual = model.net[:5](x)  # Flatten, Linear, ReLU, Linear, ReLU: the second hidden layer
    recorder = HiddenRecorder(model, "net.4")
    model(x)
    torch.testing.assert_close(recorder.output, manual)
    recorder.remove()
    model(torch.zeros(2, 1, 28, 28))
    assert recorder.output.shape == (7, 20)  # removed: no longer updated
    torch.testing.assert_close(hidden_features(model, x, "net.4", batch_size=3), manual.detach())
    with pytest.raises(ValueError, match="layer_name must name a submodule of the model, got 'net.99'"):
        HiddenRecorder(model, "net.99")


def test_hint_and_cosine_losses_against_direct_computations():
    torch.manual_seed(0)
    student_hidden, teacher_hidden = torch.randn(6, 4), torch.randn(6, 9)
    regressor = torch.nn.Linear(4, 9)
    prediction = student_hidden @ regressor.weight.T + regressor.bias
    expected_mse = ((prediction - teacher_hidden) ** 2).sum() / prediction.numel()
    torch.testing.assert_close(hint_loss(student_hidden, teacher_hidden, regressor), expected_mse)
    cos = (prediction * teacher_hidden).sum(1) / (prediction.norm(dim=1) * teacher_hidden.norm(dim=1))
    torch.testing.assert_close(cosine_loss(student_hidden, teacher_hidden, regressor), (1 - cos).mean())
    same = torch.nn.Identity()
    assert cosine_loss(teacher_hidden, 3 * teacher_hidden, same).item() == pytest.approx(0.0, abs=1e-6)
    assert cosine_loss(teacher_hidden, -teacher_hidden, same).item() == pytest.approx(2.0, abs=1e-6)
    with pytest.raises(ValueError, match=r"must have the same shape, got \(6, 4\) and \(6, 9\)"):
        hint_loss(student_hidden, teacher_hidden, same)


def test_fit_passes_a_tuple_of_teacher_tensors_and_trains_extra_params():
    x, y = toy_data(64)
    logits, features = torch.randn(64, 10), torch.arange(64.0).unsqueeze(1)
    regressor = torch.nn.Linear(20, 1)
    before = regressor.weight.clone()
    student = make_student(seed=0)
    recorder = HiddenRecorder(student, "net.4")
    seen = []

    def loss_fn(student_logits, targets, teacher_batch):
        batch_logits, batch_features = teacher_batch
        rows = batch_features.squeeze(1).long()  # each feature holds its row number
        assert torch.equal(batch_logits, logits[rows]) and torch.equal(targets, y[rows])
        seen.append(len(rows))
        return F.cross_entropy(student_logits, targets) + hint_loss(recorder.output, batch_features, regressor)

    fit(student, x, y, epochs=1, batch_size=16, lr=1e-2, teacher_logits=(logits, features), loss_fn=loss_fn,
        extra_params=regressor.parameters(), progress=False)
    assert sum(seen) == 64 and not torch.equal(regressor.weight, before)
