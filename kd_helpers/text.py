"""Tiny Shakespeare as characters: the text, its vocabulary, three disjoint stretches, and windows."""
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from .utils import check_number, data_dir

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"


@dataclass(frozen=True)
class TextSplits:
    """Character ids (1-D int64): train is the first stretch of the text, val the next, test the last."""
    chars: str  # the vocabulary: id i is the character chars[i]
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor

    def decode(self, ids):
        return "".join(self.chars[i] for i in torch.as_tensor(ids).tolist())


def load_shakespeare(val_fraction=0.05, test_fraction=0.05, root=None):
    """root/tinyshakespeare/input.txt (root: kd.data_dir(); downloaded there on first use) as character ids, cut
    into train / validation / test stretches, in that order."""
    check_number("val_fraction", val_fraction, low=0, high=0.5, low_open=True)
    check_number("test_fraction", test_fraction, low=0, high=0.5, low_open=True)
    path = Path(root or data_dir()) / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            urllib.request.urlretrieve(URL, path.with_suffix(".part"))
            path.with_suffix(".part").replace(path)  # a broken download never leaves a half input.txt
        except Exception as err:
            raise FileNotFoundError(f"Tiny Shakespeare is not at {path} and could not be downloaded ({err}): put {URL} "
                                    f"there, or set KD_DATA_DIR to a folder with tinyshakespeare/input.txt") from err
    text = path.read_text(encoding="utf-8")
    chars = "".join(sorted(set(text)))
    ids = torch.tensor([chars.index(c) for c in text], dtype=torch.long)
    n_val, n_test = int(len(ids) * val_fraction), int(len(ids) * test_fraction)
    cut = len(ids) - n_val - n_test
    return TextSplits(chars, ids[:cut], ids[cut:cut + n_val], ids[cut + n_val:])


def windows(ids, length, n=None, *, generator=None):
    """n windows of length + 1 ids as rows (inputs w[:, :-1], next-id targets w[:, 1:]): at random places with
    a generator, else one after the other from the start (n=None: all that fit, each id a target once)."""
    n = (len(ids) - 1) // length if n is None and generator is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or (generator is None and n * length >= len(ids)):
        raise ValueError(f"n must be a whole number >= 1 of windows of {length} + 1 that fit in {len(ids)}, got {n!r}")
    random = generator is not None
    starts = torch.randint(len(ids) - length, (n,), generator=generator) if random else torch.arange(n) * length
    return ids[starts[:, None] + torch.arange(length + 1)]
