#!/usr/bin/env bash
# The runs behind results/teacher_spread.json: the default teacher at five seeds on this machine's
# defaults, then seed 0 under each setting that another machine would differ in, and all of them at once.
# Usage: bash tools/teacher_spread.sh > /tmp/spread.jsonl   (about 20 minutes on a 2-core CPU)
set -euo pipefail
cd "$(dirname "$0")/.."
run() { python tools/teacher_spread.py "$@"; }
for s in 0 1 2 3 4; do run --seed "$s" --label "defaults, seed $s"; done
OMP_NUM_THREADS=1 run --label "OMP_NUM_THREADS=1"
run --threads 3 --label "torch.set_num_threads(3)"
ATEN_CPU_CAPABILITY=avx2 run --label "ATEN_CPU_CAPABILITY=avx2"
MKL_CBWR=COMPATIBLE run --label "MKL_CBWR=COMPATIBLE"
OMP_NUM_THREADS=1 ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=COMPATIBLE run --label "combined"
ATEN_CPU_CAPABILITY=default run --label "ATEN_CPU_CAPABILITY=default"
