"""A small decoder-only transformer in nanoGPT's style (teacher and student: two GPTConfigs), and sampling."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .models import register_config
from .utils import check_number


@register_config
@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 65  # Tiny Shakespeare's characters
    context: int = 64  # the longest input, in tokens
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128  # width of the residual stream; each head reads n_embd // n_head of it (and no dropout)

    def __post_init__(self):
        if min(self.vocab_size, self.context, self.n_layer, self.n_head, self.n_embd) < 1 or self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig needs sizes >= 1 and n_embd a multiple of n_head, got {self}")

    def build(self):
        return GPT(self)


GPT_TEACHER, GPT_STUDENT = GPTConfig(), GPTConfig(n_layer=2, n_embd=48)  # 818,241 and 66,017 parameters


class Block(nn.Module):
    """x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)): nanoGPT's transformer block."""
    def __init__(self, c):
        super().__init__()
        self.n_head, self.ln1, self.ln2 = c.n_head, nn.LayerNorm(c.n_embd), nn.LayerNorm(c.n_embd)
        self.qkv, self.proj = nn.Linear(c.n_embd, 3 * c.n_embd), nn.Linear(c.n_embd, c.n_embd)  # all heads at once
        self.mlp = nn.Sequential(nn.Linear(c.n_embd, 4 * c.n_embd), nn.GELU(), nn.Linear(4 * c.n_embd, c.n_embd))

    def forward(self, x):
        B, L, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(B, L, 3, self.n_head, D // self.n_head).permute(2, 0, 3, 1, 4)
        # is_causal=True: position i attends to positions 0..i only, never to a later one
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, L, D))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """ids (batch, length) -> logits (batch, length, vocab_size); row i predicts id i + 1 from ids 0..i."""
    def __init__(self, config):
        super().__init__()
        self.config = c = config
        self.tok, self.pos = nn.Embedding(c.vocab_size, c.n_embd), nn.Embedding(c.context, c.n_embd)
        self.blocks = nn.Sequential(*[Block(c) for _ in range(c.n_layer)])
        self.ln, self.head = nn.LayerNorm(c.n_embd), nn.Linear(c.n_embd, c.vocab_size)
        for name, p in self.named_parameters():  # nanoGPT's initialisation: weights N(0, 0.02), biases 0
            if p.dim() == 2 or name.endswith("bias"):  # (LayerNorm weights, 1-D, keep their 1)
                nn.init.normal_(p, std=0.02) if p.dim() == 2 else nn.init.zeros_(p)

    def forward(self, ids):
        if ids.dim() != 2 or not 1 <= ids.shape[1] <= self.config.context:
            raise ValueError(f"ids must be (batch, length <= {self.config.context}), got shape {tuple(ids.shape)}")
        x = self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))
        return self.head(self.ln(self.blocks(x)))


@torch.no_grad()
def generate(model, prompt, n_new, *, temperature=1.0, generator=None):
    """prompt (batch, t) and n_new ids, each drawn from softmax(logits / temperature) at the last position (0: the
    most likely id) given the last config.context ids; drawn on the CPU with generator: one seed, one text anywhere."""
    check_number("temperature", temperature, low=0)
    device, out = next(model.parameters()).device, prompt.cpu()  # (no dropout: train and eval mode are the same)
    for _ in range(n_new):
        last = model(out[:, -model.config.context:].to(device))[:, -1].float().cpu()
        nxt = (last.argmax(-1, keepdim=True) if temperature == 0 else
               torch.multinomial(F.softmax(last / temperature, dim=-1), 1, generator=generator))
        out = torch.cat([out, nxt], dim=1)
    return out
