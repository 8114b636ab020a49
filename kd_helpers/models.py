"""The models: one configurable MLP (the article's teacher and student are two settings of it) and a
small ConvNet. A config is a frozen dataclass; make_model(config) builds it, and a checkpoint stores
the config so the same model can be rebuilt."""
from dataclasses import dataclass

import torch
from torch import nn

CONFIGS = {}  # config class name -> class, so a checkpoint can rebuild any registered model


def register_config(cls):
    """Class decorator: let checkpoints rebuild models from this config class (it needs .build())."""
    CONFIGS[cls.__name__] = cls
    return cls


@register_config
@dataclass(frozen=True)
class MLPConfig:
    """784 -> hidden[0] -> ... -> 10, ReLU after each hidden layer, then dropout if dropout > 0;
    input_dropout drops input pixels; max_norm bounds each unit's incoming weight vector."""

    hidden: tuple = (20, 20)
    dropout: float = 0.0
    input_dropout: float = 0.0
    max_norm: float | None = None

    def __post_init__(self):  # lists from a settings cell or a checkpoint become tuples, so configs compare equal
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if not (0 <= self.dropout < 1 and 0 <= self.input_dropout < 1):
            raise ValueError(f"dropout and input_dropout must be in [0, 1), got {self.dropout} and {self.input_dropout}")

    def build(self):
        return MLP(self)


@register_config
@dataclass(frozen=True)
class ConvConfig:
    """Two blocks of 3x3 convolution, ReLU and 2x2 max-pooling (28 -> 14 -> 7), a hidden layer, the output."""

    channels: tuple = (16, 32)
    hidden: int = 64

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))

    def build(self):
        return ConvNet(self)


TEACHER = MLPConfig(hidden=(1200, 1200), dropout=0.5)  # the article's teacher, 784-1200-1200-10
STUDENT = MLPConfig()  # the article's student, 784-20-20-10
# Hinton et al. (2015) regularised their teacher "as described in" Hinton et al. (2012): dropout 0.2 on the
# inputs and 0.5 on the hidden units, each unit's incoming weight vector kept to length <= max_norm
# (Srivastava et al. 2014 use 3 to 4).
PAPER_TEACHER = MLPConfig(hidden=(1200, 1200), dropout=0.5, input_dropout=0.2, max_norm=3.5)
CONV_TEACHER = ConvConfig()


class MLP(nn.Module):
    def __init__(self, config=STUDENT, in_features=784, num_classes=10):
        super().__init__()
        self.config = config
        layers, width = [nn.Flatten()], in_features
        if config.input_dropout:
            layers.append(nn.Dropout(config.input_dropout))
        for h in config.hidden:
            layers += [nn.Linear(width, h), nn.ReLU()] + ([nn.Dropout(config.dropout)] if config.dropout else [])
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)

    @torch.no_grad()
    def apply_max_norm(self):
        """Scale down every weight row (one unit's incoming weights) longer than config.max_norm."""
        for layer in self.net:
            if isinstance(layer, nn.Linear) and self.config.max_norm is not None:
                layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=self.config.max_norm))


class ConvNet(nn.Module):
    def __init__(self, config=CONV_TEACHER, num_classes=10):
        super().__init__()
        self.config = config
        layers, width = [], 1
        for c in config.channels:
            layers += [nn.Conv2d(width, c, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            width = c
        side = 28 // 2 ** len(config.channels)
        layers += [nn.Flatten(), nn.Linear(width * side * side, config.hidden), nn.ReLU(),
                   nn.Linear(config.hidden, num_classes)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def make_model(config, seed=None):
    """config.build(); with a seed, the initial weights are reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    return config.build()


def make_student(hidden=STUDENT.hidden, seed=None):
    """An MLP student with these hidden widths (the article's 20-20 by default)."""
    return make_model(MLPConfig(hidden=tuple(hidden)), seed)
