"""Test-session settings: what every test run shares, whatever the shell or the machine.

- A non-inline MPLBACKEND inherited from the shell would reach the kernels that nbval and papermill
  start, and every figure cell would lose its image output: it is removed.
- Checkpoints: the tests never read or write the repository's checkpoints/. One temporary folder per
  test run (made by the main process, inherited by pytest-xdist's workers and every notebook kernel)
  holds the teachers the run trains; each teacher is trained once per run, under a file lock, by the
  first notebook or test that asks for it (kd_helpers.load_or_train), and loaded by the others; the
  default MLP teacher and the language-model teacher are trained up front, before the workers start,
  when the run includes notebooks or integration tests (train_shared_teachers).
- Markers: notebooks and integration tests are `slow`; those that read MNIST or Tiny Shakespeare are
  `needs_mnist` / `needs_text` (README, Tests: the fast inner loop).
- pytest-xdist (`-n 2 --dist loadscope`, pyproject.toml): a notebook's cells form one scope (one
  kernel runs them in order, on one worker), and each worker, with the kernels it starts, uses one
  torch thread, so that two workers share two cores.
"""
import os
import re
import shutil
import tempfile

import pytest

os.environ.pop("MPLBACKEND", None)
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:  # several workers: one thread each
    os.environ["OMP_NUM_THREADS"] = "1"

MNIST_NOTEBOOKS = {f"{n:02d}" for n in range(3, 11)}  # 03-10 read MNIST
TEXT_NOTEBOOKS = {"11", "12"}


def pytest_configure(config):
    if os.environ.get("OMP_NUM_THREADS") == "1" and "PYTEST_XDIST_WORKER" in os.environ:
        import torch

        torch.set_num_threads(1)
    if "PYTEST_XDIST_WORKER" not in os.environ:  # the main process: one folder for the whole run
        folder = tempfile.mkdtemp(prefix="kd-test-checkpoints-")
        config._kd_checkpoints = folder
        os.environ["KD_CHECKPOINT_DIR"] = folder
        if runs_notebooks(config):
            train_shared_teachers()


def runs_notebooks(config):
    """Whether this run executes notebooks or integration tests (not only unit tests or `-m "not slow"`).
    KD_TEST_PRETRAIN=0 leaves every teacher to the kernels (say, to check the notebooks at another
    thread count set inside them, README "As another machine would")."""
    if os.environ.get("KD_TEST_PRETRAIN", "1") == "0":
        return False
    paths = [str(p) for p in (config.args or config.getini("testpaths"))]
    return any("notebooks" in p or "integration" in p or p.endswith(".ipynb") for p in paths) and (
        "not slow" not in (config.option.markexpr or ""))


def train_shared_teachers():
    """The two teachers most notebooks load (notebook 04's default MLP teacher, notebooks 11 and 12's
    language-model teacher), trained once before the workers start, with this machine's threads, into the
    run's folder: the notebooks then load them instead of waiting on the file lock while one worker
    trains them on one thread. Missing data: nothing is trained (the tests that need it skip)."""
    import kd_helpers as kd
    from kd_helpers.gpt import GPT_TEACHER
    from kd_helpers.lm import GPT_TEACHER_RECIPE, train_gpt_teacher

    for name, config, recipe, train in (("teacher", kd.TEACHER, kd.TEACHER_RECIPE, None),
                                        ("gpt-teacher", GPT_TEACHER, GPT_TEACHER_RECIPE, train_gpt_teacher)):
        try:
            _, info = kd.load_or_train(name, config, recipe, train, progress=False)
            print(f"conftest.py: {info['checkpoint']} trained for this test run in {info['seconds']:.0f} s")
        except FileNotFoundError as err:
            print(f"conftest.py: {name} not trained ({str(err)[:120]})")


def pytest_unconfigure(config):
    folder = getattr(config, "_kd_checkpoints", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(item.path)
        number = re.match(r"(\d\d)_", item.path.name)
        if path.endswith(".ipynb") or f"{os.sep}integration{os.sep}" in path:
            item.add_marker("slow")
        names = {number.group(1)} if number else set()
        names |= set(re.findall(r"\[(\d\d)[-_]", item.nodeid)) | set(re.findall(r"\b(\d\d)_\w+\.ipynb", item.nodeid))
        if names & MNIST_NOTEBOOKS:
            item.add_marker("needs_mnist")
        if names & TEXT_NOTEBOOKS:
            item.add_marker("needs_text")
