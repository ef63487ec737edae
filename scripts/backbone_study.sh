#!/usr/bin/env bash
# Does a trick transfer from one network to another? The study of docs/backbones/ (issue 30):
# the 2020 twin at scale 0.05, 5 folds x 2 seeds, four backbones, each as its baseline and with
# squeeze_excite, manifold_mixup and confusion_weight; then the report with its heat map.
#
#   scripts/backbone_study.sh [TWIN_DIR] [OUTPUTS] [REPORT_DIR]
#
# Sized for 2 CPU cores (about 90 minutes): the PTB-XL benchmark's input (100 Hz, 2.5 s random
# crops, whole records at evaluation) and reduced widths (SIZE below; the report says so). Runs
# already finished are skipped, so the script resumes where it stopped.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
twin="${1:-$repo/../study/twin2020}"
outputs="${2:-$repo/../study/outputs}"
report="${3:-$repo/docs/backbones}"
export PYTHONWARNINGS=ignore WANDB_MODE=disabled

[ -d "$twin" ] || "$python" -m ecgtricks.synthesize "$twin" --edition 2020 --scale 0.05 --seed 0 --no-progress

COMMON=(data=challenge2020 "data.path=$twin" data.n_folds=5 preprocess.resample.fs=100 input.window_s=2.5
        batch_size=64 trainer.max_epochs="${EPOCHS:-8}" logger=csv "output_root=$outputs" "hydra/launcher=${LAUNCHER:-parallel}")
# Reduced widths, one line per backbone (the default YAMLs are the published sizes).
declare -A SIZE=(
  [resnet1d]=""
  [xresnet1d50]="model.base_width=16"
  [inception1d]="model.nb_filters=8 model.bottleneck=8"
  [conv_transformer]="model.d_model=64 model.num_layers=2 model.nhead=4 model.dim_feedforward=128"
)
for model in ${MODELS:-resnet1d xresnet1d50 inception1d conv_transformer}; do
  # shellcheck disable=SC2086  # SIZE holds several overrides
  "$python" -m ecgtricks.train -m "${COMMON[@]}" "model=$model" ${SIZE[$model]} fold='range(5)' seed=0,1
  # shellcheck disable=SC2086
  "$python" -m ecgtricks.train -m "${COMMON[@]}" "model=$model" ${SIZE[$model]} \
    +trick=squeeze_excite,manifold_mixup,confusion_weight fold='range(5)' seed=0,1
done
"$python" -m ecgtricks.report "$outputs" --out "$report"
