"""Calibration: is a model's confidence as high as its accuracy?

Expected calibration error with B equal-width bins of the confidence c = max_k p_k:

    ECE = sum over bins b of  |B_b| / n * | accuracy(B_b) - mean confidence(B_b) |

bin b (0-based) holds the examples with b/B < c <= (b+1)/B, so a confidence of exactly 1 is in
the last bin. On a finite test set even a perfectly calibrated model gets ECE > 0 (each bin's
accuracy is a noisy estimate): ece_floor measures that floor by drawing labels from the model's own
probabilities. Temperature scaling (Guo et al., 2017) divides a trained model's logits by one scalar
T fitted on held-out data by minimising the negative log-likelihood; the argmax never changes.
"""
import math
import statistics
import warnings

import torch
import torch.nn.functional as F

from .utils import check_number

T_BOUNDS = (1e-2, 1e2)  # fit_temperature searches T only in this range


def _check(name, scores, labels):
    """scores: a non-empty 2-D float tensor (examples, classes); labels: one class index per row."""
    if not torch.is_tensor(scores) or scores.dim() != 2 or not len(scores) or not scores.is_floating_point():
        raise ValueError(f"{name} must be a non-empty 2-D float tensor (examples, classes), got "
                         f"{getattr(scores, 'shape', type(scores).__name__)}")
    if not torch.is_tensor(labels) or labels.shape != scores.shape[:1] or labels.is_floating_point():
        raise ValueError(f"labels must be an integer tensor of shape ({len(scores)},), got "
                         f"{getattr(labels, 'shape', type(labels).__name__)}")
    if not 0 <= labels.min() <= labels.max() < scores.shape[1]:
        raise ValueError(f"labels must be class indices in [0, {scores.shape[1] - 1}], got {labels.min()}..{labels.max()}")


def reliability_bins(probs, labels, n_bins=15):
    """Per equal-width confidence bin: (count, accuracy, mean confidence), three float64 tensors of
    length n_bins (accuracy and confidence nan in empty bins): a reliability diagram's raw material."""
    _check("probs", probs, labels)
    check_number("n_bins", n_bins, low=1, integer=True)
    if probs.min() < 0 or probs.max() > 1 or (probs.double().sum(dim=1) - 1).abs().max() > 1e-3:
        raise ValueError("probs must be probabilities: rows in [0, 1] that sum to 1 (pass softmax(logits), not logits)")
    confidence, prediction = probs.double().max(dim=1)
    correct = (prediction == labels.to(prediction.device)).double()
    bin_index = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)  # (b/B, (b+1)/B]
    count = torch.bincount(bin_index, minlength=n_bins).double()
    accuracy = torch.bincount(bin_index, weights=correct, minlength=n_bins) / count
    mean_confidence = torch.bincount(bin_index, weights=confidence, minlength=n_bins) / count
    return count, accuracy, mean_confidence


def expected_calibration_error(probs, labels, n_bins=15):
    """ECE with n_bins equal-width bins (a float in [0, 1]): the gap between accuracy and confidence
    in each bin, weighted by the fraction of examples in the bin."""
    count, accuracy, confidence = reliability_bins(probs, labels, n_bins)
    filled = count > 0
    return float((count[filled] / count.sum() * (accuracy[filled] - confidence[filled]).abs()).sum())


def ece_floor(probs, n_bins=15, draws=100, seed=0):
    """(mean, sd) of the ECE a perfectly calibrated model with these probabilities would get on this
    many examples: labels drawn from each row's own probabilities, draws times."""
    generator = torch.Generator(device=probs.device).manual_seed(seed)
    eces = [expected_calibration_error(probs, torch.multinomial(probs, 1, generator=generator).squeeze(1), n_bins)
            for _ in range(draws)]
    return statistics.fmean(eces), statistics.stdev(eces)


def fit_temperature(logits, labels, *, max_iter=100):
    """The temperature T that minimises the mean NLL of softmax(logits / T) on (logits, labels),
    fitted with torch.optim.LBFGS on log T (T stays positive), in float64. Fit it on a validation
    split and apply it to the test set. T stays in T_BOUNDS: with no mistakes on (logits, labels) the
    NLL keeps falling as T -> 0; the fit then stops at the bound and warns."""
    _check("logits", logits, labels)
    check_number("max_iter", max_iter, low=1, integer=True)
    logits, labels = logits.detach().double().cpu(), labels.cpu().long()
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite, got nan or inf values")
    bounds = (math.log(T_BOUNDS[0]), math.log(T_BOUNDS[1]))
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # start at T = 1
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.clamp(*bounds).exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    temperature = log_t.detach().clamp(*bounds).exp().item()
    if not T_BOUNDS[0] * 1.001 < temperature < T_BOUNDS[1] / 1.001:
        warnings.warn(f"fit_temperature stopped at the bound T = {temperature:.3g} of {T_BOUNDS}: the NLL has no "
                      f"minimum inside it (for T -> 0: no mistakes on these labels)", RuntimeWarning, stacklevel=2)
    return temperature
