"""kd_helpers.losses against a hand-written KL, PyTorch's KLDivLoss and the gradient (q - p) T / B; the
inputs a learner passes (NumPy and tensor numbers) and the mistakes the checks name."""
import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kd_helpers import distillation_loss, kd_loss, soft_targets


def hand_written_kd(student, teacher, T):
    """sum_i p_i (log p_i - log q_i), mean over the batch, times T^2 -- written out by hand."""
    p = torch.exp(teacher / T) / torch.exp(teacher / T).sum(dim=1, keepdim=True)
    q = torch.exp(student / T) / torch.exp(student / T).sum(dim=1, keepdim=True)
    return (p * (p.log() - q.log())).sum(dim=1).mean() * T**2


@pytest.mark.parametrize("T", [0.5, 1.0, 2.0, 4.0, 10.0, 20.0])
def test_distillation_loss_matches_hand_written_formula(T):
    g = torch.Generator().manual_seed(0)
    student = torch.randn(16, 10, generator=g, dtype=torch.float64)
    teacher = torch.randn(16, 10, generator=g, dtype=torch.float64)
    torch.testing.assert_close(distillation_loss(student, teacher, temperature=T), hand_written_kd(student, teacher, T))


def test_distillation_loss_equals_kldivloss_batchmean_times_t_squared():
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g)
    ref = torch.nn.KLDivLoss(reduction="batchmean")(F.log_softmax(s / 4, 1), F.softmax(t / 4, 1)) * 16
    torch.testing.assert_close(distillation_loss(s, t, temperature=4.0), ref)


@pytest.mark.parametrize("T", [1.0, 3.0, 10.0])
def test_gradient_is_q_minus_p_times_t_over_batch(T):
    g = torch.Generator().manual_seed(2)
    s = torch.randn(5, 10, generator=g, dtype=torch.float64, requires_grad=True)
    t = torch.randn(5, 10, generator=g, dtype=torch.float64)
    distillation_loss(s, t, temperature=T).backward()
    q, p = F.softmax(s.detach() / T, 1), F.softmax(t / T, 1)
    torch.testing.assert_close(s.grad, (q - p) * T / 5)


def test_identical_logits_give_zero_loss():
    z = torch.randn(4, 10)
    assert distillation_loss(z, z.clone(), temperature=3.0).abs() < 1e-6


def test_huge_logits_stay_finite():
    s = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], requires_grad=True)
    t = torch.tensor([[-1e4, 1e4, 0.0], [1e4, 0.0, -1e4]])
    loss = distillation_loss(s, t, temperature=1.0)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert torch.isfinite(s.grad).all()
    y = torch.tensor([0, 1])
    total = kd_loss(s, t, y, temperature=2.0, alpha=0.3)
    assert torch.isfinite(total)


def test_kd_loss_is_the_weighted_sum():
    g = torch.Generator().manual_seed(3)
    s, t = torch.randn(6, 10, generator=g), torch.randn(6, 10, generator=g)
    y = torch.randint(0, 10, (6,), generator=g)
    expected = 0.3 * F.cross_entropy(s, y) + 0.7 * distillation_loss(s, t, temperature=10.0)
    torch.testing.assert_close(kd_loss(s, t, y, temperature=10.0, alpha=0.3), expected)
    torch.testing.assert_close(kd_loss(s, t, y, temperature=10.0, alpha=1.0), F.cross_entropy(s, y))
    torch.testing.assert_close(kd_loss(s, t, y, temperature=10.0, alpha=0.0), distillation_loss(s, t, temperature=10.0))


def test_soft_targets_is_softmax_of_logits_over_t():
    z = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]], dtype=torch.float64)
    for T in (1.0, 4.0):
        by_hand = torch.exp(z / T) / torch.exp(z / T).sum(dim=1, keepdim=True)
        torch.testing.assert_close(soft_targets(z, T), by_hand)
    flat = soft_targets(z, 1e6)  # a very high temperature: nearly uniform
    torch.testing.assert_close(flat, torch.full_like(z, 1 / 3), atol=1e-5, rtol=0)
    batch = torch.randn(2, 5, 7)  # the classes are the last dimension, whatever the rank
    torch.testing.assert_close(soft_targets(batch, 2.0).sum(-1), torch.ones(2, 5))
    with pytest.raises(ValueError, match="temperature must be a finite number > 0, got 0"):
        soft_targets(z, 0)


@pytest.mark.parametrize("T", [np.int64(4), np.float32(4.0), np.float64(4.0), torch.tensor(4.0), torch.tensor(4)])
def test_numpy_and_0d_tensor_temperatures_are_accepted(T):
    g = torch.Generator().manual_seed(4)
    s, t = torch.randn(6, 10, generator=g), torch.randn(6, 10, generator=g)
    y = torch.randint(0, 10, (6,), generator=g)
    torch.testing.assert_close(distillation_loss(s, t, temperature=T), distillation_loss(s, t, temperature=4.0))
    torch.testing.assert_close(kd_loss(s, t, y, temperature=T, alpha=np.float32(0.3)),
                               kd_loss(s, t, y, temperature=4.0, alpha=0.3))
    torch.testing.assert_close(soft_targets(s, T), soft_targets(s, 4.0))


def test_a_learnable_temperature_gets_a_gradient():
    g = torch.Generator().manual_seed(5)
    s, t = torch.randn(6, 10, generator=g, dtype=torch.float64), torch.randn(6, 10, generator=g, dtype=torch.float64)
    T = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    distillation_loss(s, t, temperature=T).backward()
    numeric = (hand_written_kd(s, t, 3.0 + 1e-6) - hand_written_kd(s, t, 3.0 - 1e-6)) / 2e-6
    torch.testing.assert_close(T.grad, numeric, rtol=1e-5, atol=1e-8)


S, TT, Y = torch.zeros(4, 10), torch.zeros(4, 10), torch.zeros(4, dtype=torch.long)


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, math.inf, math.nan, "4", None, True, torch.tensor(-2.0)])
def test_bad_temperature(bad):
    shown = repr(bad.item() if torch.is_tensor(bad) else bad)
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got " + re.escape(shown)):
        distillation_loss(S, TT, temperature=bad)
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got " + re.escape(shown)):
        kd_loss(S, TT, Y, temperature=bad, alpha=0.5)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, "0.3", None, True])
def test_bad_alpha(bad):
    with pytest.raises(ValueError, match=r"alpha must be a finite number >= 0 and <= 1, got " + re.escape(repr(bad))):
        kd_loss(S, TT, Y, temperature=2.0, alpha=bad)


def test_mismatched_or_wrong_rank_logits():
    with pytest.raises(ValueError, match="one vocabulary of classes, got 10 student classes and 9 teacher classes"):
        distillation_loss(S, torch.zeros(4, 9), temperature=2.0)
    with pytest.raises(ValueError, match=r"same shape, got \(4, 10\) and \(3, 10\)"):
        distillation_loss(S, torch.zeros(3, 10), temperature=2.0)
    with pytest.raises(ValueError, match=r"student_logits must be a 2-D tensor \(rows, classes\), got \(10,\)"):
        distillation_loss(torch.zeros(10), torch.zeros(10), temperature=2.0)
    with pytest.raises(ValueError, match=r"teacher_logits must be a 2-D tensor \(rows, classes\), got list"):
        distillation_loss(S, [[0.0] * 10] * 4, temperature=2.0)
    with pytest.raises(ValueError, match="10 student classes and 9 teacher classes"):
        kd_loss(S, torch.zeros(4, 9), Y, temperature=2.0, alpha=0.5)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8, torch.float32])
def test_targets_other_than_int64_are_refused_clearly(dtype):
    # F.cross_entropy wants int64 class indices; int32 would fail inside PyTorch with an unclear message
    with pytest.raises(ValueError, match=r"targets must be an int64 tensor of class indices, .*got " + str(dtype)):
        kd_loss(S, TT, torch.zeros(4, dtype=dtype), temperature=2.0, alpha=0.5)


def test_targets_of_the_wrong_length_or_kind_are_refused():
    with pytest.raises(ValueError, match=r"one per row \(4\), got torch.int64 of shape \(3,\)"):
        kd_loss(S, TT, torch.zeros(3, dtype=torch.long), temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match=r"targets must be an int64 tensor .*got \[0, 1, 2, 3\]"):
        kd_loss(S, TT, [0, 1, 2, 3], temperature=2.0, alpha=0.5)
