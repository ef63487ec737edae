"""Predict challenge output files: ``python -m ecgtricks.predict MODEL_DIR INPUT_DIR OUTPUT_DIR``.

MODEL_DIR is one model directory or a folder of them (a fold ensemble: probabilities averaged;
thresholds from its ``ensemble.json``, averaged, or re-tuned on pooled out-of-fold predictions). One record at a time, long
records in windows, so memory stays bounded whatever the record length.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ecgtricks.cli import setup_logging, user_errors
from ecgtricks.errors import RecordError

log = logging.getLogger("ecgtricks.predict")


def predict_directory(
    model_dir: str | Path, input_dir: str | Path, output_dir: str | Path, *,
    thresholds: str = "auto", window_s: float = 120.0, on_error: str = "skip", progress: bool = True,
    fold_ensemble: bool | None = None,
) -> dict[str, object]:
    """Write ``OUTPUT_DIR/NAME.csv`` for every record below ``input_dir``; returns counts."""
    from ecgtricks.challenge_io import write_output
    from ecgtricks.data.record import duplicate_names, find_records, read_record
    from ecgtricks.modeldir import load_ensemble
    from ecgtricks.postprocess import apply_thresholds

    ensemble = load_ensemble(model_dir, thresholds=thresholds, fold_ensemble=fold_ensemble)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    records = find_records(input_dir)
    written, skipped = 0, []
    started = time.perf_counter()
    dups = duplicate_names(records)
    for path in tqdm(records, desc="predict", unit="rec", disable=not progress):
        try:
            if path in dups:  # its output file would overwrite the first one's
                raise RecordError(path.with_suffix(".hea"), f"duplicate record name {path.name!r}: also {dups[path]}")
            record = read_record(path)
            probs = ensemble.predict_record(record, window_s=window_s)
        except RecordError as exc:
            if on_error == "raise":
                raise
            log.warning("skipped %s", exc)
            skipped.append(str(exc))
            continue
        binary = apply_thresholds(probs[None], ensemble.thresholds)[0]
        write_output(output_dir / f"{record.name}.csv", record.name, ensemble.classes, binary, probs)
        written += 1
    return {"written": written, "skipped": skipped, "seconds": time.perf_counter() - started,
            "models": len(ensemble.models)}


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
    if args.threads:
        torch.set_num_threads(args.threads)
    result = predict_directory(args.model_dir, args.input_dir, args.output_dir, thresholds=args.thresholds,
                               window_s=args.window_s, on_error=args.on_error, fold_ensemble=args.fold_ensemble)
    print(f"{result['written']} output files from {result['models']} model(s) in {result['seconds']:.1f} s "
          f"-> {args.output_dir}; {len(result['skipped'])} records skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
