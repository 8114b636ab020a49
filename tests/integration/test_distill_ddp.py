"""tools/distill_ddp.py on 2 processes (gloo, CPU) against 1 process: one step on the same global batch
must give the same gradients. DDP averages the gradients of the processes' own rows; that is the
gradient of the mean over the global batch only if the two processes read different rows (their own
shards) that together make up the batch one process reads. The cache is made here from a tiny random
teacher in tmp_path, so the test reads neither the repository's checkpoints nor Tiny Shakespeare."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kd_helpers import make_model
from kd_helpers.gpt import GPTConfig
from kd_helpers.lm import topk_cache

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "distill_ddp.py"
TINY_TEACHER = GPTConfig(vocab_size=11, context=8, n_layer=1, n_head=2, n_embd=16)
STUDENT = ["--n-layer", "1", "--n-head", "2", "--n-embd", "8"]


def tiny_cache(path, n=64, k=4):
    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 11, (n, 9), generator=g)
    with torch.no_grad():
        logits = make_model(TINY_TEACHER, seed=1).eval()(rows[:, :-1]) * 20  # sharper than at initialisation
    values, ids = topk_cache(logits, k)
    torch.save({"windows": rows, "values": values, "ids": ids, "val": torch.randint(0, 11, (8, 9), generator=g),
                "vocab_size": 11, "k": k, "temperature": 1.0}, path)


def run(tmp_path, processes, name):
    grads = tmp_path / f"{name}.pt"
    env = {**os.environ, "KD_DEVICE": "cpu", "KD_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
               str(SCRIPT), "--cache", str(tmp_path / "cache.pt"), "--steps", "1", "--batch-size", "8",
               "--grads-out", str(grads), "--log-every", "1", *STUDENT]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=50, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[:4000]
    loss = float(re.search(r"step 1/1: top-4 loss ([\d.]+)", done.stdout).group(1))
    assert f"{processes} process(es) (gloo, cpu)" in done.stdout, done.stdout
    return torch.load(grads, weights_only=True), loss


def test_two_processes_give_the_gradients_of_one_on_the_same_global_batch(tmp_path):
    tiny_cache(tmp_path / "cache.pt")
    one, loss_one = run(tmp_path, 1, "one")
    two, loss_two = run(tmp_path, 2, "two")
    assert one.keys() == two.keys() and len(one) > 0
    for name in one:
        assert one[name].abs().max() > 0, f"{name}: no gradient at all, the check would be empty"
        torch.testing.assert_close(two[name], one[name], rtol=1e-4, atol=1e-6, msg=lambda m: f"{name}: {m}")
    assert loss_two == pytest.approx(loss_one, rel=1e-5)


def test_an_uneven_split_is_refused(tmp_path):
    tiny_cache(tmp_path / "cache.pt")
    env = {**os.environ, "KD_DEVICE": "cpu", "KD_CHECKPOINT_DIR": str(tmp_path / "checkpoints"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                           str(SCRIPT), "--cache", str(tmp_path / "cache.pt"), "--steps", "1", "--batch-size", "7",
                           *STUDENT], env=env, capture_output=True, text=True, timeout=50, cwd=tmp_path)
    assert done.returncode != 0 and "--batch-size must be a multiple of the 2 processes, got 7" in done.stderr
