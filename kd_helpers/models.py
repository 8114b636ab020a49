"""One small configurable MLP; the seed article's teacher and student are two settings of it.
The paper-style teacher of notebook 07 adds input dropout and a max-norm constraint."""
import torch
from torch import nn

TEACHER_CONFIG = {"hidden": [1200, 1200], "dropout": 0.5}  # the seed's teacher, 784-1200-1200-10
STUDENT_CONFIG = {"hidden": [20, 20], "dropout": 0.0}  # the seed's student, 784-20-20-10
# Hinton et al. (2015), section 3: 784-1200-1200-10, dropout 0.2 on the inputs and 0.5 on the hidden
# units, each unit's incoming weight vector kept to length <= max_norm (Srivastava et al. 2014 use 3 to 4).
CONV_TEACHER_CONFIG = {"kind": "conv", "channels": [16, 32], "hidden": 64, "dropout": 0.0}  # notebook 10
PAPER_TEACHER_CONFIG = {"hidden": [1200, 1200], "dropout": 0.5, "input_dropout": 0.2, "max_norm": 3.5}


class MLP(nn.Module):
    """784 -> hidden[0] -> ... -> 10, ReLU after each hidden layer, then dropout if dropout > 0.

    input_dropout > 0 drops input pixels; max_norm bounds the length of every unit's incoming
    weight vector (apply_max_norm, called by the training loop after each optimizer step)."""

    def __init__(self, hidden=(20, 20), dropout=0.0, input_dropout=0.0, max_norm=None, in_features=784,
                 num_classes=10):
        super().__init__()
        for name, p in (("dropout", dropout), ("input_dropout", input_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p!r}")
        if max_norm is not None and not max_norm > 0:
            raise ValueError(f"max_norm must be None or > 0, got {max_norm!r}")
        self.config = {"hidden": [int(h) for h in hidden], "dropout": float(dropout)}
        if input_dropout:  # only non-default keys, so older checkpoints keep matching their config
            self.config["input_dropout"] = float(input_dropout)
        if max_norm is not None:
            self.config["max_norm"] = float(max_norm)
        self.max_norm = max_norm
        layers, width = [nn.Flatten()], in_features
        if input_dropout:
            layers.append(nn.Dropout(input_dropout))
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)

    @torch.no_grad()
    def apply_max_norm(self):
        """Scale down every row of every weight matrix (one unit's incoming weights) longer than max_norm."""
        if self.max_norm is None:
            return
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=self.max_norm))


class ConvNet(nn.Module):
    """A small convolutional net (notebook 10's teacher): two blocks of 3x3 convolution, ReLU and
    2x2 max-pooling (28x28 -> 14x14 -> 7x7), then one hidden fully connected layer and the output."""

    def __init__(self, channels=(16, 32), hidden=64, dropout=0.0, num_classes=10):
        super().__init__()
        self.config = {"kind": "conv", "channels": [int(c) for c in channels], "hidden": int(hidden),
                       "dropout": float(dropout)}
        layers, width = [], 1
        for c in channels:
            layers += [nn.Conv2d(width, c, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            width = c
        side = 28 // 2 ** len(channels)
        layers += [nn.Flatten(), nn.Linear(width * side * side, hidden), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(hidden, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def make_model(config, seed=None):
    """Build an MLP (or, for config["kind"] == "conv", a ConvNet) from a config dict; with a seed,
    the initial weights are reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    kind = config.get("kind", "mlp")
    if kind == "conv":
        return ConvNet(channels=config["channels"], hidden=config["hidden"], dropout=config.get("dropout", 0.0))
    if kind != "mlp":
        raise ValueError(f"config['kind'] must be 'mlp' or 'conv', got {kind!r}")
    return MLP(hidden=config["hidden"], dropout=config.get("dropout", 0.0),
               input_dropout=config.get("input_dropout", 0.0), max_norm=config.get("max_norm"))


def make_teacher(seed=None):
    return make_model(TEACHER_CONFIG, seed)


def make_student(hidden=(20, 20), seed=None):
    """The seed's 20-20 student by default; hidden=(800, 800) etc. for wider ones."""
    return make_model({"hidden": list(hidden), "dropout": 0.0}, seed)
