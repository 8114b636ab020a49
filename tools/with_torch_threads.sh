#!/usr/bin/env bash
# Run a command whose Jupyter kernels use N torch threads: torch.set_num_threads(N) at kernel start-up (the
# environment variable OMP_NUM_THREADS alone does not raise torch above the number of cores). Teachers are
# trained in the kernels (KD_TEST_PRETRAIN=0), so they too come from N threads.
#   bash tools/with_torch_threads.sh 3 python -m pytest -n 0 notebooks/04_teacher_training.ipynb notebooks/05_distillation.ipynb
set -euo pipefail
n=$1
shift
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/profile_default/startup"
echo "import torch; torch.set_num_threads($n)" > "$dir/profile_default/startup/00-threads.py"
export IPYTHONDIR="$dir" KD_TEST_PRETRAIN=0
echo "kernels with torch.set_num_threads($n) (IPYTHONDIR=$dir), teachers trained in the kernels" >&2
"$@"
