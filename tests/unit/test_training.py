"""kd_helpers.training: evaluation, the cached teacher's logits, one epoch, fit (loss callback,
teachers aligned with shuffled batches, optimizer, schedules, validation, early stopping, augment)
and the students of train_student / errors_per_seed."""
import math

import pytest
import torch
import torch.nn.functional as F

from kd_helpers import (MLPConfig, errors_per_seed, evaluate, fit, kd_loss, make_model, make_student, predict_logits,
                        train_epoch, train_student)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


class Snapshots:
    """A schedule for fit that only records the weights after every epoch (fit steps it once per epoch)."""

    def __init__(self, model):
        self.model, self.states = model, []

    def step(self):
        self.states.append({k: v.detach().clone() for k, v in self.model.state_dict().items()})


def equal_state(model, state):
    return all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


# -- evaluate and the teacher's cached logits ----------------------------------------------------


def test_evaluate_reports_mean_per_example_loss(toy_data):
    x, y = toy_data(100)
    model = make_student(seed=0)
    result = evaluate(model, x, y)
    logits = model.eval()(x)
    assert result.loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)  # mean over the 100
    assert result.errors == int((logits.argmax(1) != y).sum()) and result.n == 100
    assert result.accuracy == pytest.approx(1 - result.errors / 100)


@cuda
def test_evaluate_with_data_and_model_on_different_devices(toy_data):
    x, y = toy_data(100)
    model = make_student(seed=0)
    on_cpu = evaluate(model, x, y)
    assert evaluate(model, x, y.cuda()) == on_cpu  # labels on the GPU, model on the CPU
    model.cuda()
    gpu = evaluate(model, x.cuda(), y.cuda())
    assert gpu.errors == on_cpu.errors and gpu.loss == pytest.approx(on_cpu.loss, rel=1e-4)
    assert evaluate(model, x, y).errors == on_cpu.errors  # CPU data, GPU model


def test_predict_logits_is_a_batched_eval_forward_on_the_cpu(toy_data):
    x, _ = toy_data(50)
    teacher = make_model(MLPConfig(hidden=(30,), dropout=0.5), seed=1)
    teacher.train()
    logits = predict_logits(teacher, x, batch_size=7)
    assert teacher.training  # the mode is put back
    assert logits.device.type == "cpu" and not logits.requires_grad
    torch.testing.assert_close(logits, teacher.eval()(x).detach())  # dropout off


def test_cached_teacher_logits_stay_aligned_with_shuffled_batches(toy_data):
    x, y = toy_data(200)
    teacher = make_student((30, 30), seed=1)
    cached = predict_logits(teacher, x)
    seen = []

    def spy_loss(student_logits, teacher_rows, targets):
        seen.append((targets.clone(), teacher_rows.clone()))
        return student_logits.sum() * 0

    student = make_student(seed=0)
    train_epoch(student, x, y, torch.optim.SGD(student.parameters(), lr=0.0), batch_size=32,
                generator=torch.Generator().manual_seed(5), teacher=cached, loss_fn=spy_loss)
    assert sum(len(t) for t, _ in seen) == 200
    assert not torch.equal(torch.cat([t for t, _ in seen]), y)  # the batches really were shuffled
    teacher.eval()
    for targets, teacher_rows in seen:  # each cached row is the teacher's output for that very image
        rows = [(cached == row).all(dim=1).nonzero().item() for row in teacher_rows]
        assert torch.equal(y[rows], targets)
        torch.testing.assert_close(teacher_rows, teacher(x[rows]).detach())


# -- one epoch ------------------------------------------------------------------------------------


def test_train_epoch_returns_the_mean_loss_per_example(toy_data):
    x, y = toy_data(100)  # batches of 32, 32, 32 and 4: a mean of batch means would weigh the 4 too much
    model = make_student(seed=0)
    mean = train_epoch(model, x, y, torch.optim.SGD(model.parameters(), lr=0.0), batch_size=32,
                       generator=torch.Generator().manual_seed(0))
    assert mean == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-5)


def test_batch_scheduler_steps_once_per_batch(toy_data):
    x, y = toy_data(100)
    model = make_student(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5**step)
    train_epoch(model, x, y, opt, batch_size=32, batch_scheduler=sched)
    assert opt.param_groups[0]["lr"] == 0.5**4  # four batches


# -- fit --------------------------------------------------------------------------------------------


def test_fit_learns_the_toy_problem_and_is_reproducible(toy_data):
    x, y = toy_data()
    val = toy_data(100, seed=1)
    a, b, c = make_student(seed=0), make_student(seed=0), make_student(seed=0)
    ha = fit(a, x, y, epochs=5, batch_size=32, lr=1e-2, seed=0, val=val, progress=False)
    hb = fit(b, x, y, epochs=5, batch_size=32, lr=1e-2, seed=0, val=val, progress=False)
    hc = fit(c, x, y, epochs=5, batch_size=32, lr=1e-2, seed=1, val=val, progress=False)  # other batch order
    assert ha == hb and same_weights(a, b)
    assert ha["train_loss"] != hc["train_loss"]
    assert ha["epoch"] == [1, 2, 3, 4, 5] and all(len(ha[k]) == 5 for k in ("lr", "train_loss", "val_errors"))
    assert ha["val_errors"][-1] < ha["val_errors"][0] and ha["val_errors"][-1] == evaluate(a, *val).errors
    assert ha["train_loss"][-1] < ha["train_loss"][0] / 2
    assert ha["best_epoch"] == 1 + ha["val_errors"].index(min(ha["val_errors"]))


def test_fit_without_validation_has_no_curves(toy_data):
    x, y = toy_data(64)
    h = fit(make_student(seed=0), x, y, epochs=2, batch_size=32, lr=1e-2, progress=False)
    assert h["val_errors"] == [] and h["best_epoch"] is None and len(h["train_loss"]) == 2


def test_loss_fn_gets_student_logits_teacher_rows_and_targets_in_kd_losss_order(toy_data):
    x, y = toy_data(64)
    teacher = torch.arange(64.0).unsqueeze(1).repeat(1, 10)  # row i holds the number i
    model = make_student(seed=0)
    calls = []

    def loss_fn(student_logits, teacher_rows, targets):
        rows = teacher_rows[:, 0].long()
        assert student_logits.shape == (len(rows), 10) and student_logits.requires_grad
        assert torch.equal(targets, y[rows]) and torch.equal(teacher_rows, teacher[rows])
        calls.append(rows)
        return kd_loss(student_logits, teacher_rows, targets, temperature=2.0, alpha=0.5)  # kd_loss fits as is

    fit(model, x, y, epochs=2, batch_size=16, lr=1e-2, teacher=teacher, loss_fn=loss_fn, progress=False)
    assert len(calls) == 8 and sorted(torch.cat(calls[:4]).tolist()) == list(range(64))
    assert torch.cat(calls[:4]).tolist() != list(range(64))  # shuffled batches


def test_fit_passes_a_tuple_of_teacher_tensors_aligned_with_shuffled_batches(toy_data):
    x, y = toy_data(64)
    logits, features = torch.randn(64, 10), torch.arange(64.0).unsqueeze(1)  # each feature holds its row number
    regressor = torch.nn.Linear(20, 1)
    before = regressor.weight.clone()
    student = make_student(seed=0)
    seen = []

    def loss_fn(student_logits, teacher_rows, targets):
        batch_logits, batch_features = teacher_rows
        rows = batch_features.squeeze(1).long()
        assert torch.equal(batch_logits, logits[rows]) and torch.equal(targets, y[rows])
        seen.append(rows)
        hidden = student.net[:5](x[rows])  # the student's second hidden layer for the same images
        return F.cross_entropy(student_logits, targets) + F.mse_loss(regressor(hidden), batch_features)

    fit(student, x, y, epochs=1, batch_size=16, lr=1e-2, teacher=(logits, features), loss_fn=loss_fn,
        extra_params=regressor.parameters(), progress=False)
    assert sorted(torch.cat(seen).tolist()) == list(range(64)) and torch.cat(seen).tolist() != list(range(64))
    assert not torch.equal(regressor.weight, before)  # extra_params are trained too


def test_a_callable_optimizer_is_used(toy_data):
    x, y = toy_data(64)
    model, manual = make_student(seed=0), make_student(seed=0)
    made = []

    def sgd(params, lr):
        made.append(lr)
        return torch.optim.SGD(params, lr=lr)

    fit(model, x, y, epochs=1, batch_size=64, lr=0.1, optimizer=sgd, progress=False)  # one full batch
    assert made == [0.1]
    F.cross_entropy(manual(x), y).backward()  # one plain gradient step by hand
    with torch.no_grad():
        for p in manual.parameters():
            p -= 0.1 * p.grad
    for p, q in zip(model.parameters(), manual.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or a callable .*got 'sgd'"):
        fit(model, x, y, epochs=1, batch_size=64, lr=0.1, optimizer="sgd", progress=False)


def test_a_callable_schedule_is_stepped_once_per_epoch(toy_data):
    x, y = toy_data(64)
    made = []

    def halving(optimizer, epochs):
        made.append(epochs)
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)

    h = fit(make_student(seed=0), x, y, epochs=4, batch_size=16, lr=0.08, schedule=halving, progress=False)
    assert made == [4] and h["lr"] == pytest.approx([0.08, 0.04, 0.02, 0.01])  # 4 batches per epoch, 1 step


def test_cosine_schedule_follows_the_cosine(toy_data):
    x, y = toy_data(64)
    h = fit(make_student(seed=0), x, y, epochs=4, batch_size=16, lr=1e-2, schedule="cosine", progress=False)
    assert h["lr"] == pytest.approx([1e-2 * (1 + math.cos(math.pi * k / 4)) / 2 for k in range(4)])


def test_plateau_schedule_halves_the_rate_when_validation_stalls(toy_data):
    x, y = toy_data(64)
    h = fit(make_student(seed=0), x, y, epochs=12, batch_size=64, lr=1e-6, val=(x, y), schedule="plateau",
            progress=False)  # a rate too small to change a prediction: the validation errors stall
    assert len(set(h["val_errors"])) == 1
    # ReduceLROnPlateau(patience=2): the rate halves after the 3rd epoch in a row without improvement
    assert h["lr"] == pytest.approx([1e-6] * 4 + [5e-7] * 3 + [2.5e-7] * 3 + [1.25e-7] * 2)


@pytest.mark.parametrize("kwargs", [{"schedule": "plateau"}, {"patience": 2}, {"monitor": lambda m: 0.0}])
def test_watching_validation_needs_val(toy_data, kwargs):
    x, y = toy_data(32)
    with pytest.raises(ValueError, match=r"watch the validation split: pass val=\(x, y\)"):
        fit(make_student(), x, y, epochs=1, batch_size=32, lr=1e-3, progress=False, **kwargs)


@pytest.mark.parametrize("bad", [0, True, 1.5, -2])
def test_bad_patience_is_refused(toy_data, bad):
    x, y = toy_data(32)
    with pytest.raises(ValueError, match=f"patience must be a whole number >= 1, got {bad}"):
        fit(make_student(), x, y, epochs=1, batch_size=32, lr=1e-3, val=(x, y), patience=bad, progress=False)


def test_bad_schedule_is_refused(toy_data):
    x, y = toy_data(32)
    with pytest.raises(ValueError, match="schedule must be None, 'cosine', 'plateau' or a callable, got 'step'"):
        fit(make_student(), x, y, epochs=1, batch_size=16, lr=1e-2, schedule="step", progress=False)


def test_early_stopping_stops_and_restores_the_best_weights(toy_data):
    """8 validation images of an easy problem: the errors reach 0 within a few epochs and can never improve
    on 0 after that, so training must stop exactly `patience` epochs after the best one."""
    x, y = toy_data(256)
    val = toy_data(8, seed=1)
    model = make_student((30, 30), seed=0)
    snapshots = Snapshots(model)
    h = fit(model, x, y, epochs=40, batch_size=32, lr=1e-2, val=val, patience=3, schedule=lambda opt, n: snapshots,
            progress=False)
    best = h["best_epoch"]
    assert h["val_errors"][best - 1] == 0 and h["val_errors"].index(0) == best - 1  # the first epoch at 0
    assert len(h["epoch"]) == best + 3 < 40  # it stopped, 3 epochs after the best
    assert len(snapshots.states) == best + 3
    assert equal_state(model, snapshots.states[best - 1])  # the best epoch's weights were put back
    assert not equal_state(model, snapshots.states[-1])  # (which are not the last epoch's)
    assert evaluate(model, *val).errors == 0


def test_monitor_drives_early_stopping(toy_data):
    x, y = toy_data(64)
    val = toy_data(16, seed=1)
    model = make_student(seed=0)
    snapshots = Snapshots(model)
    # best at epoch 4; epoch 5 ties it (no improvement), epoch 6 is worse: 2 epochs without gain, stop
    scores = iter([5.0, 3.0, 4.0, 2.5, 2.5, 9.0, 1.0, 0.0])
    seen = []

    def monitor(m):
        seen.append(m)
        return next(scores)

    h = fit(model, x, y, epochs=8, batch_size=16, lr=1e-2, val=val, patience=2, monitor=monitor,
            schedule=lambda opt, n: snapshots, progress=False)
    assert len(seen) == 6 and all(m is model for m in seen)
    assert h["val_monitor"] == [5.0, 3.0, 4.0, 2.5, 2.5, 9.0]
    assert h["best_epoch"] == 4 and h["epoch"] == [1, 2, 3, 4, 5, 6]
    assert len(h["val_errors"]) == 6  # the validation errors are still recorded beside the monitor
    assert equal_state(model, snapshots.states[3]) and not equal_state(model, snapshots.states[-1])


def test_augment_is_called_once_per_epoch_on_the_original_inputs(toy_data):
    x, y = toy_data(64)
    calls = []

    def augment(inputs, generator):
        calls.append((inputs.clone(), isinstance(generator, torch.Generator)))
        return inputs + 0.01 * len(calls)

    fit(make_student(seed=0), x, y, epochs=3, batch_size=16, lr=1e-2, augment=augment, progress=False)
    assert len(calls) == 3 and all(torch.equal(inputs, x) and gen for inputs, gen in calls)


def test_the_model_is_trained_on_the_augmented_inputs(toy_data):
    """All-zero inputs give the first layer's weights a zero gradient: Adam leaves them as they were."""
    x, y = toy_data(64)
    model = make_student(seed=0)
    first = model.net[1].weight.clone()
    fit(model, x, y, epochs=2, batch_size=16, lr=1e-2, augment=lambda inputs, g: torch.zeros_like(inputs),
        progress=False)
    assert torch.equal(model.net[1].weight, first)
    assert not torch.equal(model.net[5].weight, make_student(seed=0).net[5].weight)  # the output layer did learn


def test_fit_keeps_max_norm_after_every_step(toy_data):
    x, y = toy_data(128)
    model = make_model(MLPConfig(hidden=(30, 30), max_norm=0.3), seed=0)
    fit(model, x, y, epochs=3, batch_size=16, lr=5e-2, progress=False)
    norms = torch.cat([m.weight.norm(dim=1) for m in model.net if isinstance(m, torch.nn.Linear)])
    assert norms.max() <= 0.3 * (1 + 1e-5) and (norms > 0.299).any()  # it binds, and it holds


# -- students ---------------------------------------------------------------------------------------


def test_distilled_at_alpha_1_is_the_scratch_student_and_below_1_is_not(toy_data):
    """alpha = 1 puts all the weight on the labels: after real training, the distilled student of a seed IS
    the scratch student of that seed (same initial weights, same batches); alpha < 1 changes it."""
    x, y = toy_data(128)
    teacher_logits = 5 * F.one_hot(y, 10).float() + torch.randn(128, 10, generator=torch.Generator().manual_seed(0))
    recipe = {"epochs": 2, "batch_size": 32, "seed": 4, "device": "cpu"}
    scratch, h_scratch = train_student(x, y, **recipe)
    same, h_same = train_student(x, y, teacher_logits=teacher_logits, temperature=4.0, alpha=1.0, **recipe)
    other, h_other = train_student(x, y, teacher_logits=teacher_logits, temperature=4.0, alpha=0.5, **recipe)
    assert same_weights(scratch, same) and h_same["train_loss"] == h_scratch["train_loss"]
    assert not any(torch.equal(p, q) for p, q in zip(scratch.parameters(), other.parameters()))
    assert h_other["train_loss"] != h_scratch["train_loss"]


def test_train_student_is_make_student_then_fit(toy_data):
    x, y = toy_data(64)
    model, history = train_student(x, y, hidden=(12,), epochs=2, batch_size=16, lr=1e-2, seed=3, device="cpu")
    by_hand = make_student((12,), seed=3)
    assert history == fit(by_hand, x, y, epochs=2, batch_size=16, lr=1e-2, seed=3, progress=False)
    assert same_weights(model, by_hand)


def test_errors_per_seed_is_one_trained_student_per_seed(toy_data):
    x, y = toy_data(96)
    ex, ey = toy_data(50, seed=1)
    errors = errors_per_seed(x, y, ex, ey, seeds=[0, 1], epochs=1, batch_size=32, device="cpu")
    assert errors == [evaluate(train_student(x, y, epochs=1, batch_size=32, seed=s, device="cpu")[0], ex, ey).errors
                      for s in (0, 1)]
    assert all(isinstance(e, int) for e in errors)
