"""kd_helpers.features: the forward-hook recorder, a frozen teacher's hidden features, the hint and
cosine losses against direct formulas, and a hint-only stage (FitNets' first stage) through fit."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kd_helpers import (PAPER_TEACHER, HiddenRecorder, MLPConfig, cosine_loss, fit, hidden_features, hint_loss,
                        make_model, make_student)


def test_hidden_recorder_keeps_the_latest_output_and_its_context_removes_the_hook():
    model = make_student((30, 20), seed=0)
    x = torch.rand(7, 1, 28, 28)
    manual = model.net[:5](x)  # Flatten, Linear, ReLU, Linear, ReLU: the second hidden layer
    with HiddenRecorder(model, "net.4") as recorder:
        model(x)
        torch.testing.assert_close(recorder.output, manual)
        assert recorder.output.requires_grad and recorder.outputs == []  # keep_all off: nothing piles up
    model(torch.zeros(2, 1, 28, 28))
    assert recorder.output.shape == (7, 20)  # the hook is gone: no longer updated
    recorder = HiddenRecorder(model, "net.4")
    recorder.remove()
    model(x)
    assert recorder.output is None


def test_keep_all_collects_every_batch_detached_on_the_cpu():
    model = make_student((30, 20), seed=0)
    x = torch.rand(10, 1, 28, 28)
    with HiddenRecorder(model, "net.2", keep_all=True) as recorder:
        model(x[:6])
        model(x[6:])
    assert [o.shape for o in recorder.outputs] == [(6, 30), (4, 30)]
    assert not any(o.requires_grad for o in recorder.outputs)
    torch.testing.assert_close(torch.cat(recorder.outputs), model.net[:3](x).detach())


def test_a_wrong_layer_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"layer_name must name a submodule of the model, got 'net.99'; "
                                         r"choose from \['net', 'net.0', 'net.1'"):
        HiddenRecorder(make_student(seed=0), "net.99")


def test_hidden_features_match_a_manual_forward_in_batches():
    model = make_student((30, 20), seed=0)
    x = torch.rand(7, 1, 28, 28)
    features = hidden_features(model, x, "net.4", batch_size=3)
    torch.testing.assert_close(features, model.net[:5](x).detach())
    assert not features.requires_grad and features.device.type == "cpu"
    model(x)  # and the hook is gone afterwards
    assert all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("training", [True, False])
def test_hidden_features_of_a_dropout_model_are_in_eval_mode_and_the_mode_is_restored(training):
    torch.manual_seed(0)
    teacher = make_model(MLPConfig(hidden=(64, 32), dropout=0.5, input_dropout=0.2), seed=0).train(training)
    x = torch.rand(20, 1, 28, 28)
    first, second = hidden_features(teacher, x, "net.5"), hidden_features(teacher, x, "net.5")
    assert torch.equal(first, second)  # dropout off: the same features every time
    assert teacher.training is training and all(m.training is training for m in teacher.modules())
    no_dropout = nn.Sequential(*[m for m in teacher.net[:6] if not isinstance(m, nn.Dropout)])
    torch.testing.assert_close(first, no_dropout(x).detach())
    assert [type(m).__name__ for m in teacher.net[:6]] == ["Flatten", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]


def test_hint_and_cosine_losses_against_direct_computations():
    g = torch.Generator().manual_seed(0)
    student_hidden, teacher_hidden = torch.randn(6, 4, generator=g), torch.randn(6, 9, generator=g)
    torch.manual_seed(0)
    regressor = nn.Linear(4, 9)
    prediction = student_hidden @ regressor.weight.T + regressor.bias
    expected_mse = ((prediction - teacher_hidden) ** 2).sum() / prediction.numel()
    torch.testing.assert_close(hint_loss(student_hidden, teacher_hidden, regressor), expected_mse)
    cos = (prediction * teacher_hidden).sum(1) / (prediction.norm(dim=1) * teacher_hidden.norm(dim=1))
    torch.testing.assert_close(cosine_loss(student_hidden, teacher_hidden, regressor), (1 - cos).mean())
    same = nn.Identity()
    assert cosine_loss(teacher_hidden, 3 * teacher_hidden, same).item() == pytest.approx(0.0, abs=1e-6)
    assert cosine_loss(teacher_hidden, -teacher_hidden, same).item() == pytest.approx(2.0, abs=1e-6)
    with pytest.raises(ValueError, match=r"must have the same shape, got \(6, 4\) and \(6, 9\)"):
        hint_loss(student_hidden, teacher_hidden, same)
    with pytest.raises(ValueError, match=r"must have the same shape, got \(6, 4\) and \(6, 9\)"):
        cosine_loss(student_hidden, teacher_hidden, same)


def test_hint_loss_flattens_convolutional_features():
    student_maps = torch.randn(3, 2, 4, 4)
    regressor = nn.Linear(32, 5)
    target = torch.randn(3, 5)
    torch.testing.assert_close(hint_loss(student_maps, target, regressor),
                               F.mse_loss(regressor(student_maps.reshape(3, 32)), target))


def test_a_row_of_zeros_gives_cosine_loss_1_not_nan():
    student = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], requires_grad=True)
    teacher = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    per_row_zero = cosine_loss(student[:1], teacher[:1], nn.Identity())
    assert per_row_zero.item() == 1.0
    loss = cosine_loss(student, teacher, nn.Identity())  # the student's zero row and the teacher's zero row
    assert loss.item() == 1.0
    loss.backward()
    assert torch.isfinite(student.grad).all()


def test_a_hint_only_stage_leaves_the_output_layer_unchanged(toy_data):
    """FitNets' first stage: the hint loss on the last hidden layer alone. The output layer gets no
    gradient, so Adam leaves it exactly as it was; the hidden layers and the regressor move."""
    x, y = toy_data(64)
    student = make_student((30, 20), seed=0)
    before = {k: v.clone() for k, v in student.state_dict().items()}
    torch.manual_seed(1)
    teacher_hidden = torch.randn(64, 12)
    regressor = nn.Linear(20, 12)
    regressor_before = regressor.weight.clone()
    with HiddenRecorder(student, "net.4") as recorder:
        fit(student, x, y, epochs=2, batch_size=16, lr=1e-2, teacher=(torch.zeros(64, 10), teacher_hidden),
            loss_fn=lambda logits, rows, targets: hint_loss(recorder.output, rows[1], regressor),
            extra_params=regressor.parameters(), progress=False)
    after = student.state_dict()
    assert torch.equal(after["net.5.weight"], before["net.5.weight"])
    assert torch.equal(after["net.5.bias"], before["net.5.bias"])
    assert not torch.equal(after["net.1.weight"], before["net.1.weight"])
    assert not torch.equal(after["net.3.weight"], before["net.3.weight"])
    assert not torch.equal(regressor.weight, regressor_before)


def test_the_paper_teachers_hidden_layer_can_be_read(toy_data):
    x, _ = toy_data(10)
    teacher = make_model(PAPER_TEACHER, seed=0)
    names = dict(teacher.named_modules())
    last_hidden = [n for n, m in names.items() if isinstance(m, nn.ReLU)][-1]
    assert hidden_features(teacher, x, last_hidden).shape == (10, 1200)
