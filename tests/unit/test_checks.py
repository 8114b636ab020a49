"""The loss-check harness: the course's loss passes all five properties; each known bug fails
the property that describes it (and only the ones it should)."""
import pytest
import torch.nn.functional as F

from kd_helpers import distillation_loss
from kd_helpers.classroom.checks import PROPERTIES, check_distillation_loss


def probabilities_as_input(s, t, temperature):
    return F.kl_div(F.softmax(s / temperature, 1), F.softmax(t / temperature, 1), reduction="batchmean") * temperature**2


def mean_reduction(s, t, temperature):
    return F.kl_div(F.log_softmax(s / temperature, 1), F.softmax(t / temperature, 1), reduction="mean") * temperature**2


def sum_reduction(s, t, temperature):
    return F.kl_div(F.log_softmax(s / temperature, 1), F.softmax(t / temperature, 1), reduction="sum") * temperature**2


def no_t_squared(s, t, temperature):
    return F.kl_div(F.log_softmax(s / temperature, 1), F.softmax(t / temperature, 1), reduction="batchmean")


def reverse_kl(s, t, temperature):  # input and target swapped: KL(q || p)
    return F.kl_div(F.log_softmax(t / temperature, 1), F.softmax(s / temperature, 1), reduction="batchmean") * temperature**2


def temperature_on_teacher_only(s, t, temperature):
    return F.kl_div(F.log_softmax(s, 1), F.softmax(t / temperature, 1), reduction="batchmean") * temperature**2


def log_softmax_over_t(s, t, temperature):  # bug 5b: log_softmax(z) / T, not a log-distribution
    return F.kl_div(F.log_softmax(s, 1) / temperature, F.softmax(t / temperature, 1), reduction="batchmean") * temperature**2


def log_target_without_flag(s, t, temperature):  # bug 6: a log-probability target read as probabilities
    return F.kl_div(F.log_softmax(s / temperature, 1), F.log_softmax(t / temperature, 1), reduction="batchmean") * temperature**2


def soft_cross_entropy(s, t, temperature):  # Hinton et al.'s form: KL plus the constant T^2 H(p)
    return -(F.softmax(t / temperature, 1) * F.log_softmax(s / temperature, 1)).sum(1).mean() * temperature**2


def log_of_softmax(s, t, temperature):  # log(softmax) by hand: -inf for extreme logits
    p = F.softmax(t / temperature, 1)
    return (p * (p.log() - F.softmax(s / temperature, 1).log())).sum(1).mean() * temperature**2


def course_loss(s, t, temperature):
    return distillation_loss(s, t, temperature=temperature)


def failed(fn, **kwargs):
    return {name for name, ok in check_distillation_loss(fn, verbose=False, **kwargs).items() if not ok}


@pytest.mark.parametrize("temperature", [1.0, 4.0, 10.0])
def test_course_loss_passes_everything(temperature):
    assert failed(distillation_loss, temperature=temperature) == set()
    assert failed(course_loss, temperature=temperature) == set()


@pytest.mark.filterwarnings("ignore:reduction")  # PyTorch's own warning for 'mean'
@pytest.mark.parametrize("fn, expected", [
    (probabilities_as_input, {"zero when equal", "non-negative", "gradient"}),
    (mean_reduction, {"gradient"}),
    (sum_reduction, {"batch-size free", "gradient"}),
    (no_t_squared, {"gradient"}),
    (reverse_kl, {"gradient", "finite"}),  # the student's probabilities underflow to 0: NaN gradient
    (temperature_on_teacher_only, {"zero when equal", "gradient"}),
    (log_of_softmax, {"finite"}),
    (log_softmax_over_t, {"zero when equal", "non-negative", "gradient"}),
    (log_target_without_flag, set(PROPERTIES)),
    (soft_cross_entropy, {"zero when equal"}),  # a constant offset: trains the same, fails only this one
])
def test_each_bug_fails_its_property(fn, expected):
    assert failed(fn) == expected


@pytest.mark.parametrize("fn", [no_t_squared, temperature_on_teacher_only, log_softmax_over_t])
def test_temperature_bugs_vanish_at_t_equal_1(fn):
    assert failed(fn, temperature=1.0) == set()  # at T = 1 they are the correct loss: nothing to catch


@pytest.mark.parametrize("temperature", [40.0, 100.0])
def test_finite_runs_in_float32_where_float64_hides_the_underflow(temperature):
    assert failed(log_of_softmax, temperature=temperature) == {"finite"}


def test_reports_every_property_and_prints_a_verdict(capsys):
    result = check_distillation_loss(no_t_squared)
    assert tuple(result) == PROPERTIES
    out = capsys.readouterr().out
    assert "FAIL gradient" in out and "no_t_squared: fails gradient" in out
    check_distillation_loss(distillation_loss)
    assert "distillation_loss: passes all five checks" in capsys.readouterr().out


def test_a_loss_that_ignores_the_student_fails_the_gradient():
    assert "gradient" in failed(lambda s, t, temperature: (s.detach() - t).pow(2).mean() * 0)


def test_rejects_a_non_scalar_loss():
    with pytest.raises(ValueError, match="one-element"):
        check_distillation_loss(lambda s, t, temperature: s - t, verbose=False)
