"""kd_helpers.calibration: the ECE against an independent loop and a hand-computed case (float64 and
float32, CPU and CUDA); its noise floor against an independent simulation; temperature fitting
recovers a known temperature and never changes a prediction."""
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kd_helpers import ece_floor, expected_calibration_error, fit_temperature, reliability_bins
from kd_helpers.calibration import T_BOUNDS

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def ece_loop(probs, labels, n_bins):
    """An independent ECE: plain Python over examples, bins by comparison with the edges."""
    probs, labels = np.asarray(probs, dtype=np.float64), np.asarray(labels)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        members = [i for i in range(len(labels)) if lo < probs[i].max() <= hi or (lo == 0 and probs[i].max() == 0)]
        if not members:
            continue
        accuracy = np.mean([probs[i].argmax() == labels[i] for i in members])
        confidence = np.mean([probs[i].max() for i in members])
        total += len(members) / len(labels) * abs(accuracy - confidence)
    return total


def test_ece_hand_computed_case():
    # confidences 0.85 (right), 0.85 (wrong), 0.65 (right), 0.65 (right), away from every bin edge (in float32,
    # 0.6 is 0.6000000238 and would land in (0.6, 0.7], not (0.5, 0.6]). With 2 bins (0, 0.5], (0.5, 1]:
    # one bin with all four: accuracy 3/4, mean confidence 0.75 -> ECE 0.
    probs = torch.tensor([[0.85, 0.15], [0.85, 0.15], [0.35, 0.65], [0.65, 0.35]])
    labels = torch.tensor([0, 1, 1, 0])
    assert expected_calibration_error(probs, labels, n_bins=2) == pytest.approx(0.0, abs=1e-6)
    # with 10 bins: bin (0.8, 0.9] has accuracy 1/2 at confidence 0.85 (gap 0.35, weight 1/2);
    # bin (0.6, 0.7] has accuracy 1 at confidence 0.65 (gap 0.35, weight 1/2) -> ECE 0.35
    assert expected_calibration_error(probs, labels, n_bins=10) == pytest.approx(0.35, abs=1e-6)
    count, _, _ = reliability_bins(probs, labels, n_bins=10)
    assert count.tolist() == [0, 0, 0, 0, 0, 0, 2, 0, 2, 0]


def test_a_confidence_on_an_interior_edge_lands_in_the_lower_bin():
    # bins are (b/B, (b+1)/B]: a confidence of exactly 0.5 with 2 bins is in (0, 0.5], the first bin
    count, _, _ = reliability_bins(torch.tensor([[0.5, 0.5]], dtype=torch.float64), torch.tensor([0]), n_bins=2)
    assert count.tolist() == [1, 0]
    # 0.75 with 4 bins is in (0.5, 0.75], bin index 2 (0.75 is exact in binary floating point)
    count, _, _ = reliability_bins(torch.tensor([[0.75, 0.25]], dtype=torch.float64), torch.tensor([0]), n_bins=4)
    assert count.tolist() == [0, 0, 1, 0]


def test_ece_matches_independent_loop_on_random_predictions():
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(500, 10, generator=generator)
    probs = F.softmax(logits, dim=1)
    labels = torch.randint(0, 10, (500,), generator=generator)
    labels[:300] = logits[:300].argmax(dim=1)  # a mix of right and wrong predictions
    for n_bins in (1, 5, 15, 40):
        assert expected_calibration_error(probs, labels, n_bins) == pytest.approx(
            ece_loop(probs.numpy(), labels.numpy(), n_bins), abs=1e-9)


def test_confidence_of_exactly_one_lands_in_the_last_bin():
    probs = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.55, 0.45]])
    count, accuracy, confidence = reliability_bins(probs, torch.tensor([0, 1, 0]), n_bins=10)
    assert count.tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 2]
    assert accuracy[9].item() == 0.5 and confidence[9].item() == 1.0
    assert torch.isnan(accuracy[0])  # empty bin
    assert expected_calibration_error(probs, torch.tensor([0, 1, 0]), 10) == pytest.approx(
        ece_loop(probs.numpy(), [0, 1, 0], 10))


def test_perfectly_confident_and_right_has_zero_ece():
    probs = F.one_hot(torch.arange(10) % 3, 3).float()
    assert expected_calibration_error(probs, torch.arange(10) % 3) == 0.0


@pytest.mark.parametrize("true_t", [0.5, 2.0, 4.0])
def test_fit_temperature_recovers_a_known_temperature(true_t):
    # labels drawn from softmax(z / true_t): the NLL of softmax(z / T) is minimised near T = true_t
    generator = torch.Generator().manual_seed(1)
    z = 4 * torch.randn(20000, 10, generator=generator)
    labels = torch.multinomial(F.softmax(z / true_t, dim=1), 1, generator=generator).squeeze(1)
    assert fit_temperature(z, labels) == pytest.approx(true_t, rel=0.05)


def test_fit_temperature_stops_at_a_bound_and_warns_when_there_are_no_mistakes():
    # every label is the argmax: the NLL keeps falling as T -> 0, so the fit must stop at the lower bound
    generator = torch.Generator().manual_seed(3)
    z = 3 * torch.randn(200, 10, generator=generator)
    with pytest.warns(RuntimeWarning, match="stopped at the bound"):
        t = fit_temperature(z, z.argmax(dim=1))
    assert t == pytest.approx(T_BOUNDS[0])
    assert torch.isfinite(F.cross_entropy(z / t, z.argmax(dim=1)))


def test_fitted_temperature_never_changes_the_argmax_and_lowers_the_nll():
    generator = torch.Generator().manual_seed(2)
    z = 10 * torch.randn(2000, 10, generator=generator)  # overconfident logits
    labels = torch.multinomial(F.softmax(z / 5, dim=1), 1, generator=generator).squeeze(1)
    t = fit_temperature(z, labels)
    assert t > 1
    assert torch.equal((z / t).argmax(dim=1), z.argmax(dim=1))
    assert F.cross_entropy(z / t, labels) < F.cross_entropy(z, labels)


def ece_numpy(probs, labels, n_bins):
    """Another independent ECE, vectorised for many draws: bins by np.digitize against the edges."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    bins = np.clip(np.digitize(confidence, np.linspace(0, 1, n_bins + 1)[1:-1], right=True), 0, n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        members = bins == b
        if members.any():
            total += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return total


def test_ece_numpy_agrees_with_the_loop():  # the oracle of the floor test checked against the first oracle
    g = torch.Generator().manual_seed(7)
    probs = F.softmax(2 * torch.randn(300, 5, generator=g, dtype=torch.float64), dim=1)
    labels = torch.randint(0, 5, (300,), generator=g)
    for n_bins in (1, 4, 15):
        assert ece_numpy(probs.numpy(), labels.numpy(), n_bins) == pytest.approx(ece_loop(probs, labels, n_bins))


def test_ece_floor_matches_an_independent_simulation():
    """Labels drawn from the model's own probabilities are perfectly calibrated; their mean ECE (over many
    draws, with numpy's own generator) is the floor that ece_floor estimates."""
    g = torch.Generator().manual_seed(0)
    probs = F.softmax(3 * torch.randn(400, 10, generator=g, dtype=torch.float64), dim=1)
    mean, sd = ece_floor(probs, n_bins=15, draws=100, seed=0)
    rng = np.random.default_rng(1)
    p = probs.numpy()
    cumulative = p.cumsum(axis=1)
    draws = [ece_numpy(p, (rng.random((len(p), 1)) > cumulative).sum(axis=1).clip(max=9), 15) for _ in range(200)]
    other_mean, other_sd = float(np.mean(draws)), float(np.std(draws, ddof=1))
    assert mean > 3 * sd / np.sqrt(100)  # well above 0: a finite test set always shows some gap
    assert abs(mean - other_mean) < 4 * np.sqrt(sd**2 / 100 + other_sd**2 / 200)  # the same floor, within noise
    assert 0.7 < sd / other_sd < 1.4
    assert ece_floor(probs, n_bins=15, draws=100, seed=0) == (mean, sd)  # seeded
    assert ece_floor(probs, n_bins=15, draws=100, seed=1) != (mean, sd)


def test_the_ece_of_labels_drawn_from_the_probabilities_sits_at_the_floor():
    g = torch.Generator().manual_seed(3)
    probs = F.softmax(2 * torch.randn(1000, 10, generator=g), dim=1)
    mean, sd = ece_floor(probs, draws=100)
    fresh = [expected_calibration_error(probs, torch.multinomial(probs, 1, generator=g).squeeze(1)) for _ in range(20)]
    assert abs(np.mean(fresh) - mean) < 4 * sd / np.sqrt(20) + 4 * sd / np.sqrt(100)
    wrong = expected_calibration_error(probs, (probs.argmax(dim=1) + 1) % 10)  # always wrong: far above the floor
    assert wrong > mean + 10 * sd


def test_float32_probabilities_are_binned_by_their_float32_value():
    # 0.6 in float32 is 0.60000002384: above the edge 0.6, so in (0.6, 0.7] with 10 bins; in float64 it is in
    # (0.5, 0.6]. The ECE works on the value it is given, computed in float64.
    p32 = torch.tensor([[0.6, 0.4], [0.3, 0.7]], dtype=torch.float32)
    assert reliability_bins(p32, torch.tensor([0, 1]), n_bins=10)[0].tolist() == [0] * 6 + [2] + [0] * 3
    assert reliability_bins(p32.double(), torch.tensor([0, 1]), n_bins=10)[0].tolist() == [0] * 6 + [2] + [0] * 3
    p64 = torch.tensor([[0.6, 0.4], [0.3, 0.7]], dtype=torch.float64)
    assert reliability_bins(p64, torch.tensor([0, 1]), n_bins=10)[0].tolist() == [0] * 5 + [1, 1] + [0] * 3
    # a float32 softmax rounds a confidence of 1 - 2e-9 to exactly 1.0: the last bin, confidence 1
    z = torch.tensor([[20.0, 0.0], [0.0, 1.0], [1.0, 0.5]])
    probs = F.softmax(z, dim=1)
    assert probs[0, 0].item() == 1.0 and F.softmax(z.double(), dim=1)[0, 0].item() < 1.0
    count, accuracy, confidence = reliability_bins(probs, torch.tensor([0, 0, 0]), n_bins=10)
    assert count[9] == 1 and confidence[9] == 1.0 and confidence.dtype == torch.float64
    assert expected_calibration_error(probs, torch.tensor([0, 0, 0]), 10) == pytest.approx(
        ece_loop(probs.double().numpy(), [0, 0, 0], 10), abs=1e-12)


@cuda
def test_reliability_bins_ece_and_floor_on_cuda():
    g = torch.Generator().manual_seed(0)
    probs = F.softmax(3 * torch.randn(500, 10, generator=g), dim=1)
    labels = torch.randint(0, 10, (500,), generator=g)
    on_cpu = reliability_bins(probs, labels)
    for device_labels in (labels, labels.cuda()):  # labels on either device
        on_gpu = reliability_bins(probs.cuda(), device_labels)
        for a, b in zip(on_gpu, on_cpu):
            torch.testing.assert_close(a.cpu(), b, equal_nan=True)
    assert expected_calibration_error(probs.cuda(), labels.cuda()) == pytest.approx(
        expected_calibration_error(probs, labels), abs=1e-12)
    mean, sd = ece_floor(probs.cuda(), draws=20)
    cpu_mean, cpu_sd = ece_floor(probs, draws=20)
    assert abs(mean - cpu_mean) < 4 * (sd + cpu_sd) / np.sqrt(20)


@pytest.mark.parametrize("call, message", [
    (lambda: expected_calibration_error(torch.rand(4, 3) + 0.5, torch.zeros(4, dtype=torch.long)),
     r"probs must be probabilities: rows in \[0, 1\] that sum to 1 \(pass softmax\(logits\), not logits\)"),
    (lambda: expected_calibration_error(torch.randn(4, 3) * 5, torch.zeros(4, dtype=torch.long)),
     "probs must be probabilities"),
    (lambda: expected_calibration_error(torch.full((4, 2), 0.5), torch.zeros(3, dtype=torch.long)),
     r"labels must be an integer tensor of shape \(4,\), got torch.Size\(\[3\]\)"),
    (lambda: expected_calibration_error(torch.full((4, 2), 0.5), torch.zeros(4)), r"labels must be an integer tensor"),
    (lambda: expected_calibration_error(torch.full((4,), 0.5), torch.zeros(4, dtype=torch.long)),
     r"probs must be a non-empty 2-D float tensor \(examples, classes\), got torch.Size\(\[4\]\)"),
    (lambda: expected_calibration_error(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)), "non-empty"),
    (lambda: expected_calibration_error(torch.ones(4, 1, dtype=torch.long), torch.zeros(4, dtype=torch.long)),
     "2-D float tensor"),
    (lambda: expected_calibration_error(torch.full((4, 2), 0.5), torch.zeros(4, dtype=torch.long), 0),
     "n_bins must be a whole number >= 1, got 0"),
    (lambda: reliability_bins(torch.full((4, 2), 0.5), torch.zeros(4, dtype=torch.long), 2.5),
     "n_bins must be a whole number >= 1, got 2.5"),
    (lambda: fit_temperature(torch.randn(4), torch.zeros(4, dtype=torch.long)),
     r"logits must be a non-empty 2-D float tensor \(examples, classes\), got torch.Size\(\[4\]\)"),
    (lambda: fit_temperature(torch.tensor([[0.0, float("nan")]]), torch.zeros(1, dtype=torch.long)),
     "logits must be finite"),
    (lambda: fit_temperature(torch.randn(4, 3), torch.zeros(5, dtype=torch.long)),
     r"labels must be an integer tensor of shape \(4,\), got torch.Size\(\[5\]\)"),
])
def test_bad_input_raises_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("labels, shown", [([0, 3], "0..3"), ([-1, 0], "-1..0")])
def test_labels_outside_the_classes_are_rejected(labels, shown):
    with pytest.raises(ValueError, match=re.escape(f"labels must be class indices in [0, 2], got {shown}")):
        expected_calibration_error(torch.full((2, 3), 1 / 3), torch.tensor(labels))
    with pytest.raises(ValueError, match=re.escape(f"labels must be class indices in [0, 2], got {shown}")):
        fit_temperature(torch.zeros(2, 3), torch.tensor(labels))


def test_max_iter_below_1_is_refused():
    with pytest.raises(ValueError, match="max_iter must be a whole number >= 1, got 0"):
        fit_temperature(torch.randn(4, 3), torch.zeros(4, dtype=torch.long), max_iter=0)
