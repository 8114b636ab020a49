#!/usr/bin/env bash
# Run a command (default: the whole test suite) as another machine would compute it (README, "Tests"):
# one torch thread, the CPU kernels one level below this machine's (AVX512 -> avx2, AVX2 -> default),
# and MKL's compatible matrix-multiply path. Each of the three changes the default teacher's weights
# within its first 60 Adam steps (results/teacher_spread.json).
#   bash tools/as_another_machine.sh                      # python -m pytest
#   bash tools/as_another_machine.sh python -m pytest tests/unit
set -euo pipefail
level=$(python -c "import torch; print(torch.backends.cpu.get_cpu_capability())")
case "$level" in
  AVX512) lower=avx2 ;;
  *) lower=default ;;  # AVX2, or anything else: the plain kernels (several times slower)
esac
export OMP_NUM_THREADS=1 MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY="$lower"
echo "as another machine: OMP_NUM_THREADS=1 MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=$lower (this CPU: $level)" >&2
if [ "$#" -eq 0 ]; then set -- python -m pytest; fi
exec "$@"
