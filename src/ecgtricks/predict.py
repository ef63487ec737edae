"""Predict challenge output files: ``python -m ecgtricks.predict MODEL_DIR INPUT_DIR OUTPUT_DIR``.

MODEL_DIR is one model directory or a folder of them (a fold ensemble: probabilities averaged;
thresholds from its ``ensemble.json``, averaged, or re-tuned on pooled out-of-fold predictions). One record at a time, long
records in windows, so memory stays bounded whatever the record length.
"""

from __future__ import annotations

import argparse

import torch

from ecgtricks.utils.console import setup_logging, user_errors


@user_errors
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.predict", description=__doc__.splitlines()[0])
    parser.add_argument("model_dir")
    parser.add_argument("input_dir")
    parser.add_argument("output_dir")
    parser.add_argument("--thresholds", choices=["auto", "mean", "retune"], default="auto",
                        help="ensemble thresholds: auto = the folder's ensemble.json if any, else the mean "
                        "of the folds'; mean; or re-tuned on the pooled out-of-fold predictions")
    parser.add_argument("--window-s", type=float, default=120.0, help="longest stretch of signal run at once")
    parser.add_argument("--on-error", choices=["skip", "raise"], default="skip")
    parser.add_argument("--fold-ensemble", action=argparse.BooleanOptionalAction, default=None,
                        help="use every model below MODEL_DIR (default: as the models were configured)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    setup_logging()
    from ecgtricks.runs.modeldir import predict_directory

    if args.threads:
        torch.set_num_threads(args.threads)
    result = predict_directory(args.model_dir, args.input_dir, args.output_dir, thresholds=args.thresholds,
                               window_s=args.window_s, on_error=args.on_error, fold_ensemble=args.fold_ensemble)
    print(f"{result['written']} output files from {result['models']} model(s) in {result['seconds']:.1f} s "
          f"-> {args.output_dir}; {len(result['skipped'])} records skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
