import math
import re

import pytest
import torch
import torch.nn.functional as F

from kd_helpers import distillation_loss, kd_loss


def hand_written_kd(student, teacher, T):
    """sum_i p_i (log p_i - log q_i), mean over the batch, times T^2 -- written out by hand."""
    p = torch.exp(teacher / T) / torch.exp(teacher / T).sum(dim=1, keepdim=True)
    q = torch.exp(student / T) / torch.exp(student / T).sum(dim=1, keepdim=True)
    return (p * (p.log() - q.log())).sum(dim=1).mean() * T**2


@pytest.mark.parametrize("T", [0.5, 1.0, 2.0, 4.0, 10.0, 20.0])
def test_distillation_loss_matches_hand_written_formula(T):
    g = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(16, 10, generator=g, dtype=torch.float64), torch.randn(16, 10, generator=g, dtype=torch.float64)
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


S, TT, Y = torch.zeros(4, 10), torch.zeros(4, 10), torch.zeros(4, dtype=torch.long)


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, math.inf, math.nan, "4", None, True])
def test_bad_temperature(bad):
    with pytest.raises(ValueError, match=r"temperature must be a finite number > 0, got " + re.escape(repr(bad))):
        distillation_loss(S, TT, temperature=bad)
    with pytest.raises(ValueError, match="temperature"):
        kd_loss(S, TT, Y, temperature=bad, alpha=0.5)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, "0.3", None])
def test_bad_alpha(bad):
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\], got"):
        kd_loss(S, TT, Y, temperature=2.0, alpha=bad)


def test_mismatched_or_wrong_rank_logits():
    with pytest.raises(ValueError, match=r"same shape, got \(4, 10\) and \(4, 9\)"):
        distillation_loss(S, torch.zeros(4, 9), temperature=2.0)
    with pytest.raises(ValueError, match=r"student_logits must be a 2-D tensor .*got \(10,\)"):
        distillation_loss(torch.zeros(10), torch.zeros(10), temperature=2.0)
    with pytest.raises(ValueError, match=r"teacher_logits must be a 2-D tensor .*got list"):
        distillation_loss(S, [[0.0] * 10] * 4, temperature=2.0)


def test_bad_targets():
    with pytest.raises(ValueError, match=r"targets must be an integer tensor .*got torch.float32"):
        kd_loss(S, TT, torch.zeros(4), temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match=r"targets must have shape \(4,\) .*got \(3,\)"):
        kd_loss(S, TT, torch.zeros(3, dtype=torch.long), temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match=r"class indices in \[0, 9\], got 10"):
        kd_loss(S, TT, torch.tensor([0, 1, 10, 2]), temperature=2.0, alpha=0.5)
    with pytest.raises(ValueError, match=r"class indices in \[0, 9\], got -1"):
        kd_loss(S, TT, torch.tensor([0, -1, 1, 2]), temperature=2.0, alpha=0.5)
