"""Challenge-compatible entry points, as the 2020 challenge's train_model.py and driver.py.

    python -m ecgtricks.challenge train DATA_DIR MODEL_DIR [overrides ...]
    python -m ecgtricks.challenge run MODEL_DIR DATA_DIR OUTPUT_DIR

``train`` trains the configured recipe (``experiment=dsail2020`` unless an override names
another) on every fold of DATA_DIR, one run directory per fold in MODEL_DIR (``fold<k>/``, its
checkpoints removed once the fold is finished), then tunes the ensemble's thresholds on the
pooled out-of-fold predictions of all folds (starting from the folds' mean) and writes them to
``MODEL_DIR/ensemble.json``, which says so. Re-running it finishes only missing folds.
``run`` writes one 2020-format output file per record with the fold ensemble of MODEL_DIR and
those thresholds.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.runs.challenge import train_all_folds
from ecgtricks.utils.console import setup_logging, user_errors


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.challenge", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train every fold (as train_model.py)")
    train.add_argument("data_dir", type=Path)
    train.add_argument("model_dir", type=Path)
    train.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. experiment=baseline trainer=gpu")
    run = commands.add_parser("run", help="one output file per record (as driver.py)")
    run.add_argument("model_dir", type=Path)
    run.add_argument("data_dir", type=Path)
    run.add_argument("output_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()
    if args.command == "train":
        from ecgtricks.training.fit import fit

        scores = train_all_folds(args.data_dir, args.model_dir, args.overrides, fit)
        print(f"{len(scores)} folds -> {args.model_dir}; validation challenge scores "
              + ", ".join(f"{s:.4f}" for s in scores))
        return 0
    from ecgtricks.runs.modeldir import predict_directory

    result = predict_directory(args.model_dir, args.data_dir, args.output_dir, thresholds="auto",
                               fold_ensemble=True)
    print(f"{result['written']} outputs from {result['models']} fold models -> {args.output_dir}; "
          f"{len(result['skipped'])} records skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
