"""Sim-to-real: train on the twin only, score the real records in ../shared.

    python scripts/sim_to_real.py [--twin DIR] [--scale 0.1] [--epochs 12] [--seed 7] [--real DIR]
                                  [--out DIR] [--json FILE]

1. the 2020 twin at ``--scale`` (``python -m ecgtricks.synthesize``; reused when present);
2. ``+trick=large_kernel`` at 250 Hz on it, fold 0 (``python -m ecgtricks.train``; a finished run
   is reused, as every run is);
3. ``python -m ecgtricks.predict`` of that model on the real records (``../shared/data/
   challenge-samples``: 120 records of six databases), then the final official 2020 scorer's
   challenge score at the model's thresholds and at 0.5, the macro AUROC over the classes with
   at least 5 positive real records, and the per-class AUROC.

Prints one table and writes the figures as JSON (``--json``), for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MIN_POSITIVES = 5


def run(args: list[str]) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-m", *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed:\n{proc.stderr[-3000:]}")


def score_real(model_dir: Path, real: Path, outputs: Path) -> dict[str, object]:
    """The model's figures on the real records (labels read as the official scorer reads them)."""
    from ecgtricks.scoring import metrics
    from ecgtricks.scoring.label_files import load_labels
    from ecgtricks.scoring.labels import ABBREVIATIONS, SCORED_CLASSES
    from ecgtricks.scoring.outputs import load_outputs

    run(["ecgtricks.predict", str(model_dir), str(real), str(outputs)])
    names, labels = load_labels(real)
    binary, scores, _ = load_outputs(outputs, names)
    _, _, per_class_auroc, _ = metrics.auroc_auprc(labels, scores)
    positives = labels.sum(axis=0)
    enough = positives >= MIN_POSITIVES
    return {
        "records": len(names),
        "challenge_score": metrics.challenge_score(labels, binary),
        "challenge_score_at_0.5": metrics.challenge_score(labels, scores >= 0.5),
        "macro_auroc": float(np.nanmean(per_class_auroc[enough])),
        "classes_with_5_positives": int(enough.sum()),
        "per_class_auroc": {
            f"{ABBREVIATIONS[c]} {c}": round(float(a), 4)
            for c, a, ok in zip(SCORED_CLASSES, per_class_auroc, enough, strict=True) if ok
        },
        "positives": {ABBREVIATIONS[c]: int(n) for c, n in zip(SCORED_CLASSES, positives, strict=True) if n},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin", type=Path, default=Path("/tmp/ecgtricks-sim2real/twin"))
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared" / "data" / "challenge-samples")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ecgtricks-sim2real/runs"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--extra", nargs="*", default=[], help="more train overrides")
    args = parser.parse_args()
    if not args.real.is_dir():
        raise SystemExit(f"no real records at {args.real}")
    started = time.perf_counter()
    run(["ecgtricks.synthesize", str(args.twin), "--scale", str(args.scale), "--seed", "0"])
    overrides = ["data=challenge2020", f"data.path={args.twin}", "+trick=large_kernel",
                 "preprocess.resample.fs=250", f"trainer.max_epochs={args.epochs}", f"seed={args.seed}",
                 "fold=0", "logger=csv", f"output_root={args.out}", *args.extra]
    run(["ecgtricks.train", *overrides])
    from ecgtricks.runs.rundir import variant_name

    summary = args.out / "baseline" / variant_name(overrides, str(args.twin)) / "fold0" / "summary.json"
    if not summary.is_file():
        raise SystemExit(f"{summary} was not written")
    twin = json.loads(summary.read_text())
    real = score_real(summary.parent / "model", args.real, summary.parent / "real-outputs")
    result = {"command": "python scripts/sim_to_real.py " + " ".join(sys.argv[1:]),
              "twin_validation": {k: twin[k] for k in ("challenge_score", "challenge_score_tuned", "auroc")},
              "real": real, "wall_s": round(time.perf_counter() - started, 1)}
    print(f"twin fold 0: challenge score {twin['challenge_score']:.3f} @0.5, {twin['challenge_score_tuned']:.3f} tuned, "
          f"AUROC {twin['auroc']:.3f}")
    print(f"real ({real['records']} records): challenge score {real['challenge_score']:.3f} at the model's "
          f"thresholds ({real['challenge_score_at_0.5']:.3f} @0.5), macro AUROC {real['macro_auroc']:.3f} over "
          f"{real['classes_with_5_positives']} classes with >= {MIN_POSITIVES} positives")
    for name, auroc in sorted(real["per_class_auroc"].items(), key=lambda kv: -kv[1]):
        print(f"  {name}: {auroc:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
