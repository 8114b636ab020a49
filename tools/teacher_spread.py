"""How far the default teacher's test errors move between seeds and between machines.

    python tools/teacher_spread.py --seed 0                 # one run; prints one JSON line
    python tools/teacher_spread.py --seed 0 --threads 3     # torch.set_num_threads(3) first
    ATEN_CPU_CAPABILITY=avx2 OMP_NUM_THREADS=1 MKL_CBWR=COMPATIBLE python tools/teacher_spread.py --seed 0

Each run trains the course's default teacher (kd_helpers' default recipe, one seed) on the CPU and
prints one JSON line: the setting (threads, CPU kernel level, MKL_CBWR), a fingerprint of the weights
after the first 60 Adam steps (so a setting that changes the arithmetic shows at once), and the
validation and test errors after the whole recipe. The environment variables must be set before
torch is imported, so each setting is its own process; tools/teacher_spread.sh runs the set whose
results are recorded in results/teacher_spread.json (notebook 04 reads its bound from there).
"""
import argparse
import hashlib
import json
import os
import time

import torch


def fingerprint(model):
    """The first 12 hex digits of the sha256 of every parameter's bytes."""
    h = hashlib.sha256()
    for p in model.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:12]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N) before training")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import kd_helpers as kd

    data = kd.load_mnist()
    recipe = {**kd.TEACHER_RECIPE, "seed": args.seed}
    device = torch.device("cpu")

    # 60 Adam steps of the recipe, then a fingerprint of the weights
    probe = kd.make_model(kd.TEACHER, seed=args.seed).to(device)
    n60 = 60 * recipe["batch_size"]
    kd.fit(probe, data.train_x[:n60], data.train_y[:n60], **{**recipe, "epochs": 1, "schedule": None},
           progress=False)
    start = time.perf_counter()
    model = kd.make_model(kd.TEACHER, seed=args.seed).to(device)
    kd.fit(model, data.train_x, data.train_y, progress=False, **recipe)
    seconds = time.perf_counter() - start
    row = {"label": args.label, "seed": args.seed, "threads": torch.get_num_threads(),
           "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "ATEN_CPU_CAPABILITY": os.environ.get("ATEN_CPU_CAPABILITY"), "MKL_CBWR": os.environ.get("MKL_CBWR"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"), "torch": torch.__version__,
           "weights_after_60_steps": fingerprint(probe),
           "val_errors": kd.evaluate(model, data.val_x, data.val_y).errors,
           "test_errors": kd.evaluate(model, data.test_x, data.test_y).errors, "train_seconds": round(seconds, 1)}
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
