"""Test-session settings that keep the notebooks' compared outputs independent of the shell.

A non-inline MPLBACKEND inherited from the shell (common on headless machines) would reach the
kernels that nbval and papermill start, and every figure cell would lose its image output."""
import os

os.environ.pop("MPLBACKEND", None)
