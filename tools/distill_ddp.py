"""Notebook 11's token-level distillation on many processes: PyTorch's DistributedDataParallel, each
process reading its own shard of the teacher's top-k cache.

    torchrun --standalone --nproc-per-node=2 tools/distill_ddp.py                 # 2 processes here
    python tools/distill_ddp.py                                                   # 1 process, no torchrun
    python tools/distill_ddp.py --cache-only --cache /shared/top8.pt              # build the cache once, then
    torchrun --nnodes=2 --nproc-per-node=8 --rdzv-id=kd12 --rdzv-backend=c10d \\
        --rdzv-endpoint=HEAD_NODE:29400 tools/distill_ddp.py --cache /shared/top8.pt --batch-size 256
                                                  # on each of 2 machines with 8 GPUs: 16 processes

1. The cache. Notebook 11's teacher (kd_helpers.load_or_train: its checkpoint is reused, or it is
   trained once) reads --windows random windows of the training text; the k largest log-probabilities
   at every position and their ids (kd_helpers.lm.topk_cache) are saved with the windows and the
   validation text in one file (--cache). When the file is missing, the first process of each machine
   writes it (to a temporary name, then renamed: no process ever reads half a file); the others wait at
   a barrier. On several machines, build it once (--cache-only) and copy it to each, or put it on a
   shared disk: then no machine needs the teacher.
2. The shards. Every process opens the cache with mmap (only the pages it touches are read) and a
   DistributedSampler deals it its own rows of each pass: one permutation per pass, the same in every
   process (seeded by --seed and the pass), rows rank, rank + world, ... of it. Process r's batch at a
   step is batch_size / world of them; together they are the rows one process with --batch-size would
   read at that step, so the global batch does not depend on the number of processes.
3. The step. Each process computes kd_helpers.lm.topk_loss (the mean over its tokens) on its rows;
   backward() in DDP all-reduces the gradients to their mean over the processes (gloo on CPUs, nccl on
   GPUs), which is the gradient of the mean over the global batch. Every replica then takes the same
   AdamW step (one-cycle rate, gradients clipped at norm 1: kd_helpers.lm.train_lm's recipe).
tests/integration/test_distill_ddp.py checks step 2 and 3: one step on 2 processes gives the gradients of
one process on the same global batch.
"""
import argparse
import dataclasses
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository, when not installed
import kd_helpers as kd  # noqa: E402
from kd_helpers.gpt import GPT_STUDENT, GPT_TEACHER  # noqa: E402
from kd_helpers.lm import GPT_TEACHER_RECIPE, token_rows, topk_cache, topk_loss, train_gpt_teacher  # noqa: E402
from kd_helpers.text import load_shakespeare, windows  # noqa: E402

TEACHER_NAME = "gpt-teacher"  # notebook 11's checkpoint name: the same teacher, trained once


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--cache", type=Path, default=None, help="the top-k cache file (default: in kd.checkpoint_dir())")
    p.add_argument("--windows", type=int, default=4096, help="training windows in the cache (built when missing)")
    p.add_argument("--k", type=int, default=8, help="teacher log-probabilities kept per position")
    p.add_argument("--bucket", action="store_true", help="k + 1 classes: one bucket for the rest of the mass")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch-size", type=int, default=32, help="the GLOBAL batch: rows per step over all processes")
    p.add_argument("--lr", type=float, default=3e-3, help="peak rate (one-cycle), as notebook 11's students")
    p.add_argument("--seed", type=int, default=0, help="the student's initial weights and the row order")
    p.add_argument("--n-layer", type=int, default=GPT_STUDENT.n_layer)
    p.add_argument("--n-head", type=int, default=GPT_STUDENT.n_head)
    p.add_argument("--n-embd", type=int, default=GPT_STUDENT.n_embd)
    p.add_argument("--out", type=Path, default=None, help="save the student here (kd.save_checkpoint)")
    p.add_argument("--grads-out", type=Path, default=None, help="save the first step's gradients here (tests)")
    p.add_argument("--log-every", type=int, default=100)
    p.add_argument("--cache-only", action="store_true", help="build the cache (if missing) and stop")
    return p.parse_args(argv)


def build_cache(path, n, k, temperature, seed):
    """Notebook 11's teacher on n random training windows: top-k log-probabilities, ids, the windows."""
    text = load_shakespeare()
    teacher, _ = kd.load_or_train(TEACHER_NAME, GPT_TEACHER, GPT_TEACHER_RECIPE, train_gpt_teacher)
    rows = windows(text.train, GPT_TEACHER.context, n, generator=torch.Generator().manual_seed(seed))
    parts = [topk_cache(kd.predict_logits(teacher, rows[i:i + 512, :-1]), k, temperature=temperature)
             for i in range(0, n, 512)]  # 512 windows at a time: the full logits never all sit in memory
    payload = {"windows": rows, "values": torch.cat([v for v, _ in parts]), "ids": torch.cat([i for _, i in parts]),
               "val": windows(text.val, GPT_TEACHER.context), "vocab_size": GPT_TEACHER.vocab_size,
               "k": k, "temperature": temperature}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def setup():
    """(rank, world, device): torchrun's environment, or one process without it."""
    rank, world, local = (int(os.environ.get(k, d)) for k, d in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)))
    device = kd.choose_device()
    device = torch.device("cuda", local) if device.type == "cuda" else torch.device("cpu")  # no DDP on MPS
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if "RANK" not in os.environ:  # plain `python tools/distill_ddp.py`: a group of one, on a free port
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
    return rank, world, int(local), device


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    args = arguments(argv)
    rank, world, local, device = setup()
    if args.batch_size % world:
        raise ValueError(f"--batch-size must be a multiple of the {world} processes, got {args.batch_size}")
    path = args.cache or kd.checkpoint_dir() / f"{TEACHER_NAME}-top{args.k}-T{args.temperature:g}-{args.windows}.pt"
    if local == 0 and not path.is_file():
        build_cache(path, args.windows, args.k, args.temperature, args.seed)
    dist.barrier()
    if args.cache_only:
        print(f"process {rank}: the cache is {path}", flush=True)
        return dist.destroy_process_group()
    cache = torch.load(path, mmap=True, weights_only=True)  # pages are read when rows are indexed
    n, length = cache["windows"].shape[0], cache["windows"].shape[1] - 1
    config = dataclasses.replace(GPT_STUDENT, vocab_size=cache["vocab_size"], context=length, n_layer=args.n_layer,
                                 n_head=args.n_head, n_embd=args.n_embd)
    model = DistributedDataParallel(kd.make_model(config, seed=args.seed).to(device),
                                    device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1, betas=(0.9, 0.99))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps)
    sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
    local_batch, step, epoch, start = args.batch_size // world, 0, 0, time.perf_counter()
    while step < args.steps:
        sampler.set_epoch(epoch)  # a new permutation each pass, the same in every process
        order = torch.tensor(list(sampler))
        for i in range(0, len(order) - local_batch + 1, local_batch):
            rows = order[i:i + local_batch]
            batch, values, ids = (cache[key][rows].to(device) for key in ("windows", "values", "ids"))
            loss = topk_loss(model(batch[:, :-1]), values, ids, temperature=cache["temperature"], bucket=args.bucket)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP: the gradients are now the mean over the processes
            if step == 0 and args.grads_out and rank == 0:
                torch.save({name: p.grad.cpu() for name, p in model.module.named_parameters()}, args.grads_out)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            if step % args.log_every == 0 or step == args.steps:  # every process joins the all-reduce
                mean = loss.detach().clone()
                dist.all_reduce(mean)  # the sum over processes; / world: the loss of the global batch
                if rank == 0:
                    print(f"step {step}/{args.steps}: top-{cache['k']} loss {mean.item() / world:.4f}", flush=True)
            if step == args.steps:
                break
        epoch += 1
    seconds = time.perf_counter() - start
    if rank == 0:
        val = cache["val"]
        with torch.no_grad():
            logits = kd.predict_logits(model.module, val[:, :-1])
        bits = torch.nn.functional.cross_entropy(token_rows(logits), val[:, 1:].reshape(-1)).item() / math.log(2)
        print(f"{world} process(es) ({dist.get_backend()}, {device.type}), global batch {args.batch_size}: "
              f"{args.steps} steps in {seconds:.1f} s; validation {bits:.3f} bits per character", flush=True)
        if args.out:
            kd.save_checkpoint(model.module, args.out, recipe={k: str(v) for k, v in vars(args).items()})
    dist.barrier()  # every process waits for process 0's evaluation, then all leave the group together
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
