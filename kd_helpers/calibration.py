"""Calibration: is a model's confidence as high as its accuracy? (used in notebook 09)

Expected calibration error with B equal-width bins of the confidence c = max_k p_k:

    ECE = sum over bins b of  |B_b| / n * | accuracy(B_b) - mean confidence(B_b) |

bin b (0-based) holds the examples with b/B < c <= (b+1)/B, so a confidence of exactly 1 is in
the last bin. Temperature scaling (Guo et al., 2017) divides a trained model's logits by one
scalar T fitted on held-out data by minimising the negative log-likelihood; the argmax, hence
every prediction, is unchanged.
"""
import math
import warnings

import torch
import torch.nn.functional as F


def _describe(t):
    return f"{t.dtype} tensor of shape {tuple(t.shape)}" if torch.is_tensor(t) else type(t).__name__


def _check_scores_and_labels(name, scores, labels):
    """scores (probs or logits): a non-empty 2-D float tensor; labels: one class index per row."""
    if not torch.is_tensor(scores) or scores.dim() != 2 or scores.shape[0] == 0 or not scores.is_floating_point():
        raise ValueError(f"{name} must be a non-empty 2-D float tensor (examples, classes), got {_describe(scores)}")
    if not torch.is_tensor(labels) or labels.shape != scores.shape[:1] or labels.is_floating_point():
        raise ValueError(f"labels must be an integer tensor of shape ({scores.shape[0]},), got {_describe(labels)}")
    n_classes = scores.shape[1]
    if not 0 <= labels.min() <= labels.max() < n_classes:
        bad = labels[(labels < 0) | (labels >= n_classes)][0].item()
        raise ValueError(f"labels must be class indices in [0, {n_classes - 1}], got {bad}")


def _check_probs_labels(probs, labels, n_bins):
    _check_scores_and_labels("probs", probs, labels)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be an integer >= 1, got {n_bins!r}")
    if not torch.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
        raise ValueError(f"probs must be probabilities in [0, 1], got values from {probs.min().item():.3g} "
                         f"to {probs.max().item():.3g} (pass softmax(logits), not logits)")
    worst = (probs.double().sum(dim=1) - 1).abs().max().item()
    if worst > 1e-3:
        raise ValueError(f"probs must sum to 1 along each row, got a row off by {worst:.3g} "
                         f"(pass softmax(logits, dim=1))")


def reliability_bins(probs, labels, n_bins=15):
    """Per equal-width confidence bin: (count, accuracy, mean confidence), three float64 tensors of
    length n_bins; accuracy and confidence are nan in empty bins. The raw material of a
    reliability diagram and of the ECE."""
    _check_probs_labels(probs, labels, n_bins)
    confidence, prediction = probs.double().max(dim=1)
    correct = (prediction == labels.to(prediction.device)).double()
    bin_index = (torch.ceil(confidence * n_bins).long() - 1).clamp(0, n_bins - 1)  # (b/B, (b+1)/B]
    count = torch.bincount(bin_index, minlength=n_bins).double()
    accuracy = torch.bincount(bin_index, weights=correct, minlength=n_bins) / count
    mean_confidence = torch.bincount(bin_index, weights=confidence, minlength=n_bins) / count
    return count, accuracy, mean_confidence


def expected_calibration_error(probs, labels, n_bins=15):
    """ECE with n_bins equal-width bins (a float in [0, 1]): the gap between accuracy and
    confidence in each bin, weighted by the fraction of examples in the bin."""
    count, accuracy, confidence = reliability_bins(probs, labels, n_bins)
    filled = count > 0
    return float((count[filled] / count.sum() * (accuracy[filled] - confidence[filled]).abs()).sum())


T_BOUNDS = (1e-2, 1e2)  # fit_temperature searches T only in this range


def fit_temperature(logits, labels, *, max_iter=100):
    """The one temperature T > 0 that minimises the mean NLL of softmax(logits / T) on (logits,
    labels), fitted with torch.optim.LBFGS on log T (so T stays positive). Fit it on a
    validation split and apply it to the test set; dividing by T never changes the argmax.

    T is kept in T_BOUNDS = [0.01, 100]: when the model makes no mistake on (logits, labels), the NLL
    keeps falling as T -> 0 and has no minimum; the fit then stops at a bound and warns."""
    _check_scores_and_labels("logits", logits, labels)
    if not torch.isfinite(logits).all():
        raise ValueError("logits must be finite, got nan or inf values")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    logits, labels = logits.detach().double().cpu(), labels.cpu().long()
    log_bounds = (math.log(T_BOUNDS[0]), math.log(T_BOUNDS[1]))
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)  # start at T = 1
    optimizer = torch.optim.LBFGS([log_t], lr=0.5, max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.clamp(*log_bounds).exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        temperature = log_t.clamp(*log_bounds).exp().item()
    if not math.isfinite(temperature):
        raise RuntimeError("temperature fitting diverged")
    if not T_BOUNDS[0] * 1.001 < temperature < T_BOUNDS[1] / 1.001:
        warnings.warn(f"fit_temperature stopped at the bound T = {temperature:.3g} of {T_BOUNDS}: the NLL has no "
                      f"minimum inside it (for T -> 0: no mistakes on these labels, e.g. a too easy or too small "
                      f"validation set)", RuntimeWarning, stacklevel=2)
    return temperature
