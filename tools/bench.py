"""Benchmark: the seed article's distillation loop against kd_helpers' default recipe.

    python tools/bench.py [--epochs 3] [--repeats 1]        (KD_DEVICE=cpu|cuda|mps picks the device)

Both distill the 784-20-20-10 student from the same saved teacher for 3 epochs over the
60,000 training images, in this one process, and are then scored on the 10,000 test images.
- article-style: torchvision ToTensor + DataLoader(batch_size=32, shuffle=True), the teacher run
  on every batch under no_grad, T=10, alpha=0.3, Adam lr 1e-4 (the article's code, fixed).
- kd_helpers: images held as one tensor, the teacher's logits computed once (that time is
  counted), then kd_helpers' STUDENT_RECIPE with the same T and alpha.
Everything runs on one device (kd_helpers.choose_device()); the two loops alternate, `--repeats` times
each, starting with the article's, and each one's fastest time counts. The time is the training time
(plus the logit cache); test evaluation is not timed. The last line reads:
speedup <r>x article-style <s>s kd_helpers <s>s errors article-style <n> kd_helpers <n>
"""
import argparse
import time

import torch
import torch.nn.functional as F

from kd_helpers import (STUDENT_RECIPE, TEACHER, TEACHER_RECIPE, choose_device, data_dir, evaluate, load_mnist,
                        load_or_train, make_student, predict_logits, seed_everything, train_student)

TEMPERATURE, ALPHA = 10.0, 0.3


def article_style(teacher, epochs, data_root, device):
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    train_set = datasets.MNIST(data_root, train=True, download=True, transform=transforms.ToTensor())
    loader = DataLoader(train_set, batch_size=32, shuffle=True)
    student = make_student(seed=0).to(device)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-4)
    teacher.eval()
    for _ in range(epochs):
        student.train()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
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


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


def ours(teacher, data, epochs, device):
    logits = predict_logits(teacher, data.train_x)  # the cache: once per teacher, counted in the time
    student, _ = train_student(data.train_x, data.train_y, teacher_logits=logits, temperature=TEMPERATURE,
                               alpha=ALPHA, epochs=epochs, device=device)
    return student


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    device = choose_device()
    data = load_mnist(val_size=0)  # all 60,000 training images, as in the article
    teacher, info = load_or_train("teacher", TEACHER, TEACHER_RECIPE, device=device)
    print(f"teacher: {info['test_errors']} test errors; device {device}; threads: {torch.get_num_threads()}")
    times = {"article": [], "ours": []}
    for _ in range(args.repeats):
        seed_everything(0)
        article_student, seconds = _timed(lambda: article_style(teacher, args.epochs, data_dir(), device))
        times["article"].append(seconds)
        student, seconds = _timed(lambda: ours(teacher, data, args.epochs, device))
        times["ours"].append(seconds)
    article, mine = min(times["article"]), min(times["ours"])
    article_errors = evaluate(article_student, data.test_x, data.test_y).errors
    ours_errors = evaluate(student, data.test_x, data.test_y).errors
    print(f"article-style: {article:.1f}s, {article_errors} test errors")
    print(f"kd_helpers: {mine:.1f}s (teacher logits cached once), {ours_errors} test errors, recipe {STUDENT_RECIPE}")
    print(f"speedup {article / mine:.1f}x article-style {article:.1f}s kd_helpers {mine:.1f}s "
          f"errors article-style {article_errors} kd_helpers {ours_errors}")


if __name__ == "__main__":
    main()
