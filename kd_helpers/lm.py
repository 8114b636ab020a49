"""Language-model distillation: each position of (batch, length, vocabulary) logits is a row of distillation_loss."""
import math
import time

import torch
import torch.nn.functional as F

from .calibration import expected_calibration_error
from .losses import check_logits, distillation_loss
from .text import load_shakespeare, windows
from .training import predict_logits
from .utils import check_number, progress_bar, seed_everything

GPT_TEACHER_RECIPE = {"steps": 1500, "batch_size": 32, "lr": 3e-3, "seed": 0}  # about 150 s on 2 cores


def token_rows(x, mask=None):
    """(batch, length, ...) -> (batch * length, ...), keeping only the positions where mask is True."""
    return x.flatten(0, 1) if mask is None else x[mask.to(x.device, torch.bool)]


def token_distillation_loss(student_logits, teacher_logits, *, temperature=1.0, divergence="forward", beta=0.5,
                            mask=None):
    """The mean over the positions that count (mask (batch, length): True counts) of T^2 times
      forward  KL(p || q)     p = softmax(teacher / T), q = softmax(student / T)
      reverse  KL(q || p)     the same function, roles swapped
      jsd      beta KL(p || M) + (1 - beta) KL(q || M), M = beta p + (1 - beta) q (GKD; as in TRL, beta = 0 is
               forward, 1 reverse KL: the limits of JSD / beta, JSD / (1 - beta)); skew: KL(p || M) (DistiLLM)."""
    if divergence not in ("forward", "reverse", "jsd", "skew"):
        raise ValueError(f"divergence must be 'forward', 'reverse', 'jsd' or 'skew', got {divergence!r}")
    beta = check_number("beta", beta, low=0, high=1)
    s, t = token_rows(student_logits, mask), token_rows(teacher_logits, mask)
    check_logits(s, t)  # the same vocabulary, or a ValueError naming both widths
    if divergence == "forward" or (divergence in ("jsd", "skew") and beta == 0):
        return distillation_loss(s, t, temperature=temperature)
    if divergence == "reverse" or (divergence == "jsd" and beta == 1):
        return distillation_loss(t, s, temperature=temperature)
    log_p, log_q = F.log_softmax(t / temperature, dim=-1), F.log_softmax(s / temperature, dim=-1)
    log_m = torch.logaddexp(log_p + math.log(beta), log_q + math.log1p(-beta)) if beta < 1 else log_p
    kl_pm = distillation_loss(log_m, log_p, temperature=1.0)  # KL(p || M): log-probabilities are logits too
    if divergence == "jsd":
        kl_pm = beta * kl_pm + (1 - beta) * distillation_loss(log_m, log_q, temperature=1.0)
    return temperature**2 * kl_pm


def topk_cache(teacher_logits, k, *, temperature=1.0):
    """The k largest log-probabilities of softmax(teacher / T) at each position and their ids: (..., k)
    float32 and int32, 8 k bytes per position instead of 4 V for the whole distribution."""
    values, ids = F.log_softmax(teacher_logits.float() / temperature, dim=-1).topk(k, dim=-1)
    return values, ids.int()


def topk_loss(student_logits, values, ids, *, temperature=1.0, bucket=False, mask=None):
    """T^2 KL(teacher || student) per token from a top-k cache made at the same T: the teacher renormalised over
    its k ids against the student's whole distribution, or (bucket=True) k + 1 classes, the k and the rest."""
    log_q = F.log_softmax(token_rows(student_logits, mask) / temperature, dim=-1)
    values, ids = token_rows(values, mask).to(log_q), token_rows(ids, mask).to(log_q.device).long()
    log_p = torch.full_like(log_q, -1e9).scatter(-1, ids, values)  # renormalised: -1e9 is probability 0, finite
    if bucket:  # k + 1 classes: the k ids, and log(1 - the sum of their probabilities) for the rest
        log_q, log_p = (torch.cat([lp, (1 - lp.exp().sum(-1, keepdim=True)).clamp(min=1e-12).log()], dim=-1)
                        for lp in (log_q.gather(-1, ids), values))
    return temperature**2 * distillation_loss(log_q, log_p, temperature=1.0)


def train_lm(model, data, *, steps, batch_size, lr, seed=0, teacher=None, loss_fn=None, weight_decay=0.1,
             progress=None, desc="training"):
    """AdamW with a one-cycle learning rate for `steps` steps of batch_size rows of data (windows of length + 1
    ids), reshuffled on every pass: the seed fixes the order (the caller, the initial weights). Loss: next-id
    cross-entropy, or loss_fn(logits, teacher[rows], targets), teacher a tensor (or tuple) aligned with data."""
    seed_everything(seed)
    generator, device, losses = torch.Generator().manual_seed(seed), next(model.parameters()).device, []
    passes = -(-steps * batch_size // len(data))  # enough shuffled passes over data for every step
    order = torch.cat([torch.randperm(len(data), generator=generator) for _ in range(passes)])
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.99))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    model.train()
    for step in progress_bar(range(steps), progress, desc=desc):
        rows = order[step * batch_size:(step + 1) * batch_size]
        batch = data[rows].to(device)
        logits = model(batch[:, :-1])
        if loss_fn is None:
            loss = F.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten())
        else:
            part = tuple(c[rows].to(device) for c in teacher) if type(teacher) is tuple else teacher[rows].to(device)
            loss = loss_fn(logits, part, batch[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return losses


def lm_metrics(student_logits, teacher_logits, data):
    """Per-position means over data (N, length + 1), in bits: cross-entropy, KL both ways, entropy; agreement, ECE."""
    s, t, y, bits = token_rows(student_logits), token_rows(teacher_logits), data[:, 1:].reshape(-1), math.log(2)
    log_q = F.log_softmax(s, dim=-1)
    return {"bits_per_char": F.nll_loss(log_q, y).item() / bits,
            "kl_teacher_student": distillation_loss(s, t, temperature=1.0).item() / bits,
            "kl_student_teacher": distillation_loss(t, s, temperature=1.0).item() / bits,
            "top1_agreement": (s.argmax(-1) == t.argmax(-1)).float().mean().item(),
            "entropy": -(log_q.exp() * log_q).sum(-1).mean().item() / bits,
            "ece": expected_calibration_error(log_q.exp(), y)}


def train_gpt_teacher(model, recipe):
    """load_or_train's train(model, recipe) for the teacher, on random windows: the val loss (nats per char), time."""
    text, start, gen = load_shakespeare(), time.perf_counter(), torch.Generator().manual_seed(recipe["seed"])
    data = windows(text.train, model.config.context, recipe["steps"] * recipe["batch_size"], generator=gen)
    train_lm(model, data, **{k: recipe[k] for k in ("steps", "batch_size", "lr", "seed")}, desc="teacher")
    seconds, val = time.perf_counter() - start, windows(text.val, model.config.context)
    val_loss = F.cross_entropy(token_rows(predict_logits(model, val[:, :-1])), val[:, 1:].reshape(-1)).item()
    return {"val_loss": val_loss, "seconds": round(seconds, 1), "threads": torch.get_num_threads()}
