#!/usr/bin/env bash
# The GPU check: on one GPU, in at most 8 minutes, the bare training step, the project's
# Lightning loop (pre-built batches; then `fit` with the default loader, data.on_device,
# trainer.compile and both), 2 and 4 packed runs, and the GPU-hours of 10 folds x 100 epochs
# at 43,101 and 88,253 records. No download: random records in the cache's format.
#
#   scripts/gpu_check.sh                        # cuda (default)
#   scripts/gpu_check.sh --device cpu --quick   # every part, tiny sizes (tests/test_gpu_check.py)
#   scripts/gpu_check.sh --out gpu-check.json   # the figures as JSON too
#
# Each figure is printed as soon as it is measured; parts that would overrun the budget
# (--budget, 450 s of the 480) are skipped with a line saying so.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
export PYTHONWARNINGS=ignore WANDB_MODE=disabled
exec timeout --kill-after=10 480 "$python" "$repo/scripts/gpu_check.py" "$@"
