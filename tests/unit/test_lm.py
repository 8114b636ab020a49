"""The language-model helpers of notebooks 11 and 12: text, the small GPT, per-token losses, caches."""
import math

import pytest
import torch
import torch.nn.functional as F

from kd_helpers import distillation_loss, load_checkpoint, load_or_train, make_model, save_checkpoint
from kd_helpers.gpt import GPT_STUDENT, GPT_TEACHER, GPTConfig, generate
from kd_helpers.lm import (lm_metrics, token_distillation_loss, token_rows, topk_cache, topk_loss, train_gpt_teacher,
                           train_lm)
from kd_helpers.text import load_shakespeare, windows

TINY = GPTConfig(vocab_size=11, context=8, n_layer=2, n_head=2, n_embd=16)


def logits(*shape, seed=0, scale=2.0):
    return scale * torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def kl_by_hand(p_logits, q_logits, T=1.0):
    """sum_v p log(p / q) for every row, written out: p, q = softmax(logits / T) by exp and sum."""
    p = torch.exp(p_logits / T) / torch.exp(p_logits / T).sum(-1, keepdim=True)
    q = torch.exp(q_logits / T) / torch.exp(q_logits / T).sum(-1, keepdim=True)
    return (p * (p.log() - q.log())).sum(-1)


# ---- the model ---------------------------------------------------------------------------------

def test_changing_a_later_character_never_changes_an_earlier_position():
    model = make_model(TINY, seed=0).eval()
    ids = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(0))
    for j in range(8):
        changed = ids.clone()
        changed[:, j] = (changed[:, j] + 1) % 11
        a, b = model(ids), model(changed)
        torch.testing.assert_close(a[:, :j], b[:, :j], rtol=0, atol=1e-6)  # positions before j: untouched
        assert (a[:, j] - b[:, j]).abs().max() > 1e-4  # position j reads its own input


def test_shapes_and_too_long_input():
    model = make_model(TINY, seed=0)
    assert model(torch.zeros(4, 5, dtype=torch.long)).shape == (4, 5, 11)
    with pytest.raises(ValueError, match="length <= 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match="n_embd a multiple of n_head"):
        GPTConfig(n_embd=30, n_head=4)


@pytest.mark.parametrize("config", [TINY, GPT_TEACHER, GPT_STUDENT])
def test_parameter_count_formula(config):
    V, C, d, L = config.vocab_size, config.context, config.n_embd, config.n_layer
    per_block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d)  # = 12d^2 + 13d
    expected = V * d + C * d + L * per_block + 2 * d + (d * V + V)
    assert per_block == 12 * d * d + 13 * d
    assert sum(p.numel() for p in config.build().parameters()) == expected


def test_student_has_at_most_a_tenth_of_the_teachers_parameters():
    n = {c: sum(p.numel() for p in c.build().parameters()) for c in (GPT_TEACHER, GPT_STUDENT)}
    assert n[GPT_STUDENT] <= n[GPT_TEACHER] / 10


def test_same_seed_same_weights_and_checkpoint_round_trip(tmp_path):
    a, b = make_model(TINY, seed=3), make_model(TINY, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    path = save_checkpoint(a, tmp_path / "gpt.pt", recipe={"steps": 1, "seed": 3})
    model, config, recipe, _ = load_checkpoint(path)
    assert config == TINY and recipe == {"steps": 1, "seed": 3}
    ids = torch.randint(0, 11, (2, 8))
    torch.testing.assert_close(model(ids), a.eval()(ids))


def test_sampling_is_reproducible_with_a_seed_and_greedy_at_temperature_zero():
    model = make_model(TINY, seed=0)
    prompt = torch.tensor([[1, 2, 3], [4, 5, 6]])
    a = generate(model, prompt, 12, temperature=1.0, generator=torch.Generator().manual_seed(7))
    b = generate(model, prompt, 12, temperature=1.0, generator=torch.Generator().manual_seed(7))
    assert a.shape == (2, 15) and torch.equal(a, b) and torch.equal(a[:, :3], prompt)  # 15 > context 8: cut
    g1 = generate(model, prompt, 5, temperature=0)
    g2 = generate(model, prompt, 5, temperature=0, generator=torch.Generator().manual_seed(1))
    assert torch.equal(g1, g2)
    assert torch.equal(g1[:, 3], model(prompt)[:, -1].argmax(-1))
    with pytest.raises(ValueError, match="temperature"):
        generate(model, prompt, 1, temperature=-1.0)


def test_low_temperature_concentrates_the_samples():
    model = make_model(TINY, seed=0)
    with torch.no_grad():
        model.head.bias.copy_(torch.linspace(0, 3, 11))  # a trained model's preferences, roughly
    prompt = torch.zeros(200, 1, dtype=torch.long)
    distinct = {T: len(set(generate(model, prompt, 1, temperature=T, generator=torch.Generator().manual_seed(0))[:, 1]
                           .tolist())) for T in (0.05, 5.0)}
    assert distinct[0.05] <= 2 < 8 <= distinct[5.0]


# ---- per-token losses ------------------------------------------------------------------------

@pytest.mark.parametrize("T", [1.0, 2.0, 0.5])
def test_per_token_loss_is_the_mean_over_positions_of_kl_times_t_squared(T):
    s, t = logits(3, 5, 7, seed=1), logits(3, 5, 7, seed=2)
    expected = kl_by_hand(t, s, T).mean() * T**2  # (3, 5) per-position KLs, mean over all 15
    torch.testing.assert_close(token_distillation_loss(s, t, temperature=T), expected)


def test_batchmean_on_3d_input_grows_with_the_length():
    for L in (4, 8, 16):
        s, t = logits(2, L, 5, seed=L), logits(2, L, 5, seed=L + 1)
        raw = F.kl_div(F.log_softmax(s, -1), F.log_softmax(t, -1), reduction="batchmean", log_target=True)
        torch.testing.assert_close(raw, L * token_distillation_loss(s, t))  # summed over positions, / batch only


def test_mask_selects_the_positions_that_count():
    s, t = logits(2, 6, 5, seed=3).requires_grad_(), logits(2, 6, 5, seed=4)
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]], dtype=torch.bool)
    loss = token_distillation_loss(s, t, mask=mask)
    torch.testing.assert_close(loss, kl_by_hand(t, s.detach())[mask].mean())
    loss.backward()
    assert s.grad[~mask].abs().max() == 0 and s.grad[mask].abs().max() > 0
    torch.testing.assert_close(token_distillation_loss(s, t, mask=torch.ones(2, 6)), token_distillation_loss(s, t))


def test_different_vocabularies_are_refused_naming_both_widths():
    with pytest.raises(ValueError, match=r"65 student classes and 70 teacher classes"):
        token_distillation_loss(torch.zeros(2, 3, 65), torch.zeros(2, 3, 70))
    with pytest.raises(ValueError, match=r"65 student classes and 70 teacher classes"):
        token_distillation_loss(torch.zeros(2, 3, 65), torch.zeros(2, 3, 70), divergence="jsd")
    with pytest.raises(ValueError, match="divergence"):
        token_distillation_loss(torch.zeros(2, 3, 5), torch.zeros(2, 3, 5), divergence="backward")
    with pytest.raises(ValueError, match="beta"):
        token_distillation_loss(torch.zeros(2, 3, 5), torch.zeros(2, 3, 5), divergence="jsd", beta=1.5)


def direct(p, q, kind, beta):
    """Each divergence from its formula, per row, with probabilities p (teacher) and q (student)."""
    kl = lambda a, b: (a * (a.log() - b.log())).sum(-1)  # noqa: E731
    m = beta * p + (1 - beta) * q
    return {"forward": kl(p, q), "reverse": kl(q, p), "jsd": beta * kl(p, m) + (1 - beta) * kl(q, m),
            "skew": kl(p, m)}[kind]


@pytest.mark.parametrize("kind, beta", [("forward", 0.5), ("reverse", 0.5), ("jsd", 0.5), ("jsd", 0.1), ("jsd", 0.9),
                                        ("skew", 0.1), ("skew", 0.5)])
@pytest.mark.parametrize("T", [1.0, 2.0])
def test_divergences_match_their_formulas(kind, beta, T):
    s, t = logits(2, 4, 6, seed=5), logits(2, 4, 6, seed=6)
    p, q = F.softmax(t / T, -1), F.softmax(s / T, -1)
    expected = direct(p, q, kind, beta).mean() * T**2
    torch.testing.assert_close(token_distillation_loss(s, t, temperature=T, divergence=kind, beta=beta), expected)


def test_jsd_ends_are_forward_and_reverse_kl_as_in_trl_and_the_limits_of_the_formula():
    s, t = logits(2, 4, 6, seed=7), logits(2, 4, 6, seed=8)
    fwd, rev = (token_distillation_loss(s, t, divergence=k) for k in ("forward", "reverse"))
    torch.testing.assert_close(token_distillation_loss(s, t, divergence="jsd", beta=0.0), fwd)
    torch.testing.assert_close(token_distillation_loss(s, t, divergence="jsd", beta=1.0), rev)
    eps = 1e-6  # JSD(beta) / beta -> forward KL as beta -> 0, JSD / (1 - beta) -> reverse KL as beta -> 1
    torch.testing.assert_close(token_distillation_loss(s, t, divergence="jsd", beta=eps) / eps, fwd, rtol=1e-3, atol=0)
    torch.testing.assert_close(token_distillation_loss(s, t, divergence="jsd", beta=1 - eps) / eps, rev, rtol=1e-3,
                               atol=0)
    torch.testing.assert_close(token_distillation_loss(s, t, divergence="skew", beta=0.0), fwd)
    assert token_distillation_loss(s, t, divergence="skew", beta=1.0) == 0


def test_every_divergence_is_zero_at_a_match_and_trains_the_student_towards_the_teacher():
    t = logits(2, 4, 6, seed=9)
    for kind in ("forward", "reverse", "jsd", "skew"):
        assert abs(token_distillation_loss(t, t, divergence=kind, beta=0.3).item()) < 1e-12
        s = torch.zeros_like(t, requires_grad=True)
        opt = torch.optim.SGD([s], lr=1.0)
        start = token_distillation_loss(s, t, divergence="forward").item()
        for _ in range(200):
            opt.zero_grad()
            token_distillation_loss(s, t, divergence=kind, beta=0.3).backward()
            opt.step()
        assert token_distillation_loss(s.detach(), t).item() < 0.2 * start, kind


# ---- top-k caches ----------------------------------------------------------------------------

@pytest.mark.parametrize("bucket", [False, True])
@pytest.mark.parametrize("T", [1.0, 2.0])
def test_topk_at_k_all_equals_full_distillation(bucket, T):
    s, t = logits(2, 5, 9, seed=10), logits(2, 5, 9, seed=11)
    values, ids = topk_cache(t, 9, temperature=T)
    full = token_distillation_loss(s.float(), t.float(), temperature=T)
    torch.testing.assert_close(topk_loss(s.float(), values, ids, temperature=T, bucket=bucket), full, rtol=1e-4,
                               atol=1e-6)


def test_topk_renormalised_and_bucket_against_their_formulas():
    s, t, k = logits(3, 4, 9, seed=12), logits(3, 4, 9, seed=13), 3
    values, ids = topk_cache(t, k)
    assert values.dtype == torch.float32 and ids.dtype == torch.int32 and ids.shape == (3, 4, k)
    p, q = F.softmax(t, -1), F.softmax(s, -1)
    top = p.topk(k, -1)
    p_k, q_k = top.values, q.gather(-1, top.indices)
    renorm = (p_k / p_k.sum(-1, keepdim=True) * ((p_k / p_k.sum(-1, keepdim=True)).log() - q_k.log())).sum(-1)
    rest_p, rest_q = 1 - p_k.sum(-1), 1 - q_k.sum(-1)
    bucket = (p_k * (p_k.log() - q_k.log())).sum(-1) + rest_p * (rest_p.log() - rest_q.log())
    torch.testing.assert_close(topk_loss(s, values, ids).double(), renorm.mean(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(topk_loss(s, values, ids, bucket=True).double(), bucket.mean(), rtol=1e-5, atol=1e-6)
    one = topk_cache(t, 1)  # k = 1, renormalised: cross-entropy on the teacher's most likely id
    torch.testing.assert_close(topk_loss(s, *one).double(), F.cross_entropy(token_rows(s), token_rows(t).argmax(-1)),
                               rtol=1e-5, atol=1e-6)


def test_topk_loss_with_a_mask():
    s, t = logits(2, 6, 7, seed=14), logits(2, 6, 7, seed=15)
    mask = torch.rand(2, 6, generator=torch.Generator().manual_seed(0)) > 0.4
    values, ids = topk_cache(t, 7)
    torch.testing.assert_close(topk_loss(s.float(), values, ids, mask=mask),
                               token_distillation_loss(s.float(), t.float(), mask=mask), rtol=1e-4, atol=1e-6)


# ---- text, training, metrics -----------------------------------------------------------------

@pytest.fixture
def tiny_text(tmp_path):
    folder = tmp_path / "tinyshakespeare"
    folder.mkdir()
    (folder / "input.txt").write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n" * 40)
    return tmp_path


def test_splits_are_disjoint_stretches_in_order(tiny_text):
    text = load_shakespeare(root=tiny_text)
    n = len(text.train) + len(text.val) + len(text.test)
    assert n == len((tiny_text / "tinyshakespeare" / "input.txt").read_text())
    assert len(text.val) == len(text.test) == int(0.05 * n)
    assert text.decode(torch.cat([text.train, text.val, text.test])) == (tiny_text / "tinyshakespeare" / "input.txt").read_text()
    assert text.chars == "".join(sorted(set(text.chars)))


def test_missing_text_offline_raises_a_clear_error(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("no network")
    monkeypatch.setattr("urllib.request.urlretrieve", offline)
    with pytest.raises(FileNotFoundError, match=r"tinyshakespeare.*KD_DATA_DIR"):
        load_shakespeare(root=tmp_path / "empty")


def test_windows_back_to_back_and_random():
    ids = torch.arange(100)
    w = windows(ids, 10)
    assert w.shape == (9, 11) and torch.equal(w[:, 1:].flatten(), torch.arange(1, 91))  # every id a target once
    r = windows(ids, 10, 50, generator=torch.Generator().manual_seed(0))
    assert r.shape == (50, 11) and torch.equal(r[:, 1:] - r[:, :-1], torch.ones(50, 10, dtype=torch.long))
    for bad in (0, 10, None):
        with pytest.raises(ValueError, match="n must be"):
            windows(ids, 10, bad, generator=None if bad != None else torch.Generator())  # noqa: E711


def test_train_lm_learns_and_is_reproducible():
    data = windows(torch.arange(200) % 11, 8)  # a cycle: perfectly predictable
    runs = []
    for _ in range(2):
        model = make_model(TINY, seed=0)
        runs.append(train_lm(model, data, steps=60, batch_size=8, lr=1e-2, seed=1, progress=False))
    assert runs[0] == runs[1] and sum(runs[0][-5:]) / 5 < 0.5 * sum(runs[0][:5]) / 5


def test_train_lm_with_a_cached_teacher_and_a_topk_cache():
    data = windows(torch.arange(200) % 11, 8)
    teacher = make_model(TINY, seed=1)
    cache = teacher.eval()(data[:, :-1]).detach()
    student = make_model(TINY, seed=0)
    full = train_lm(student, data, steps=40, batch_size=8, lr=1e-2, teacher=cache, progress=False,
                    loss_fn=lambda s, t, y: token_distillation_loss(s, t, divergence="reverse"))
    assert full[-1] < full[0]
    top = topk_cache(cache, 3)
    losses = train_lm(make_model(TINY, seed=0), data, steps=5, batch_size=8, lr=1e-2, teacher=top, progress=False,
                      loss_fn=lambda s, t, y: topk_loss(s, *t, bucket=True))
    assert len(losses) == 5 and all(math.isfinite(v) for v in losses)


def test_lm_metrics_against_direct_computations():
    data = torch.randint(0, 6, (3, 5), generator=torch.Generator().manual_seed(0))
    s, t = logits(3, 4, 6, seed=16).float(), logits(3, 4, 6, seed=17).float()
    m = lm_metrics(s, t, data)
    q = F.softmax(s, -1)
    assert m["bits_per_char"] == pytest.approx(F.cross_entropy(token_rows(s), data[:, 1:].reshape(-1)).item() / math.log(2))
    assert m["kl_teacher_student"] == pytest.approx(kl_by_hand(t, s).mean().item() / math.log(2), rel=1e-5)
    assert m["kl_student_teacher"] == pytest.approx(kl_by_hand(s, t).mean().item() / math.log(2), rel=1e-5)
    assert m["entropy"] == pytest.approx(-(q * q.log()).sum(-1).mean().item() / math.log(2), rel=1e-5)
    assert m["top1_agreement"] == pytest.approx((s.argmax(-1) == t.argmax(-1)).float().mean().item())
    same = lm_metrics(t, t, data)
    assert same["top1_agreement"] == 1 and abs(same["kl_teacher_student"]) < 1e-6 and 0 <= same["ece"] <= 1


def test_teacher_through_load_or_train(tiny_text, monkeypatch, tmp_path):
    monkeypatch.setenv("KD_DATA_DIR", str(tiny_text))
    monkeypatch.setenv("KD_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    config = GPTConfig(vocab_size=len(load_shakespeare().chars), context=8, n_layer=1, n_head=2, n_embd=16)
    recipe = {"steps": 20, "batch_size": 4, "lr": 1e-2, "seed": 0}
    model, info = load_or_train("tiny-gpt", config, recipe, train_gpt_teacher, device=torch.device("cpu"))
    assert info["trained_now"] and math.isfinite(info["val_loss"]) and info["threads"] >= 1
    again, info2 = load_or_train("tiny-gpt", config, recipe, train_gpt_teacher, device=torch.device("cpu"))
    assert not info2["trained_now"] and info2["val_loss"] == info["val_loss"]
    ids = torch.zeros(1, 8, dtype=torch.long)
    torch.testing.assert_close(again(ids), model(ids))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_on_the_gpu_data_follows_the_model():
    model = make_model(TINY, seed=0).cuda()
    data = windows(torch.arange(200) % 11, 8)
    cache = make_model(TINY, seed=1).eval()(data[:, :-1]).detach()
    losses = train_lm(model, data, steps=3, batch_size=8, lr=1e-2, teacher=topk_cache(cache, 2), progress=False,
                      loss_fn=lambda s, t, y: topk_loss(s, *t))
    assert len(losses) == 3
    out = generate(model, torch.zeros(2, 1, dtype=torch.long), 4, generator=torch.Generator().manual_seed(0))
    assert out.device.type == "cpu" and out.shape == (2, 5)
    assert token_distillation_loss(model(data[:2, :-1].cuda()), cache[:2].cuda(), divergence="jsd").isfinite()
