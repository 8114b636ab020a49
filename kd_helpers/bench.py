"""Benchmark: the seed article's distillation loop against kd_helpers' default recipe.

    python -m kd_helpers.bench [--epochs 3]

Both distill the 784-20-20-10 student from the same saved teacher for 3 epochs over the
60,000 training images, in this one process, and are then scored on the 10,000 test images.
- seed-style: torchvision ToTensor + DataLoader(batch_size=32, shuffle=True), the teacher run
  on every batch under no_grad, T=10, alpha=0.3, Adam lr 1e-4 (the article's code, fixed).
- kd_helpers: images held as one tensor, the teacher's logits computed once (that time is
  counted), then kd_helpers' STUDENT_RECIPE with the same T and alpha.
The time is the training time (plus the logit cache); test evaluation is not timed.
The last line reads: speedup <r>x seed-style <s>s kd_helpers <s>s errors seed-style <n> kd_helpers <n>
"""
import argparse
import time

import torch
import torch.nn.functional as F

from . import (STUDENT_RECIPE, cache_teacher_logits, evaluate, load_mnist, load_or_train_teacher, make_student,
               seed_everything, train_student)

TEMPERATURE, ALPHA = 10.0, 0.3


def seed_style(teacher, epochs, data_root):
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    train_set = datasets.MNIST(data_root, train=True, download=True, transform=transforms.ToTensor())
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    student = make_student(seed=0)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-4)
    teacher.eval()
    for _ in range(epochs):
        student.train()
        for x, y in loader:
            with torch.no_grad():
                teacher_logits = teacher(x)
            logits = student(x)
            hard = F.cross_entropy(logits, y)
            soft = F.kl_div(F.log_softmax(logits / TEMPERATURE, 1), F.softmax(teacher_logits / TEMPERATURE, 1),
                            reduction="batchmean")
            loss = ALPHA * hard + (1 - ALPHA) * soft * TEMPERATURE**2
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return student


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    data = load_mnist(val_size=0)  # all 60,000 training images, as in the article
    teacher, info = load_or_train_teacher()
    print(f"teacher: {info['test_errors']} test errors; threads: {torch.get_num_threads()}")

    from .data import data_dir

    seed_everything(0)
    start = time.perf_counter()
    seed_student = seed_style(teacher, args.epochs, data_dir())
    seed_seconds = time.perf_counter() - start
    seed_errors = evaluate(seed_student, data.test_x, data.test_y).errors
    print(f"seed-style: {seed_seconds:.1f}s, {seed_errors} test errors")

    start = time.perf_counter()
    logits = cache_teacher_logits(teacher, data.train_x)
    cache_seconds = time.perf_counter() - start
    student, _ = train_student(data.train_x, data.train_y, teacher_logits=logits, temperature=TEMPERATURE,
                               alpha=ALPHA, epochs=args.epochs)
    ours_seconds = time.perf_counter() - start
    ours_errors = evaluate(student, data.test_x, data.test_y).errors
    print(f"kd_helpers: {ours_seconds:.1f}s ({cache_seconds:.1f}s of it caching teacher logits), "
          f"{ours_errors} test errors, recipe {STUDENT_RECIPE}")
    print(f"re-running at another temperature reuses the cached logits: {ours_seconds - cache_seconds:.1f}s, "
          f"{seed_seconds / (ours_seconds - cache_seconds):.1f}x faster than the seed-style loop")
    print(f"speedup {seed_seconds / ours_seconds:.1f}x seed-style {seed_seconds:.1f}s kd_helpers {ours_seconds:.1f}s "
          f"errors seed-style {seed_errors} kd_helpers {ours_errors}")


if __name__ == "__main__":
    main()
