"""One small configurable MLP; the seed article's teacher and student are two settings of it."""
import torch
from torch import nn

TEACHER_CONFIG = {"hidden": [1200, 1200], "dropout": 0.5}  # the seed's teacher, 784-1200-1200-10
STUDENT_CONFIG = {"hidden": [20, 20], "dropout": 0.0}  # the seed's student, 784-20-20-10


class MLP(nn.Module):
    """784 -> hidden[0] -> ... -> 10, ReLU after each hidden layer, then dropout if dropout > 0."""

    def __init__(self, hidden=(20, 20), dropout=0.0, in_features=784, num_classes=10):
        super().__init__()
        self.config = {"hidden": [int(h) for h in hidden], "dropout": float(dropout)}
        layers, width = [nn.Flatten()], in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def make_model(config, seed=None):
    """Build an MLP from a config dict; with a seed, the initial weights are reproducible."""
    if seed is not None:
        torch.manual_seed(seed)
    return MLP(hidden=config["hidden"], dropout=config.get("dropout", 0.0))


def make_teacher(seed=None):
    return make_model(TEACHER_CONFIG, seed)


def make_student(hidden=(20, 20), seed=None):
    """The seed's 20-20 student by default; hidden=(800, 800) etc. for wider ones."""
    return make_model({"hidden": list(hidden), "dropout": 0.0}, seed)
