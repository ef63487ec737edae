"""Were the runs trained long enough? Validation curves of a sweep, per variant (seeds and folds
pooled): mean validation loss, AUROC and challenge score at each epoch, and how much the last
epochs still moved them.

    python scripts/training_curves.py OUTPUTS [--contains baseline/] [--last 2]

Reads each run's Lightning ``metrics.csv`` (``logger=csv``; W&B runs log one beside it). A run
whose validation loss still falls by more than a few per cent an epoch at its end is
under-trained: what its comparisons say holds for that budget, not for a converged network.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

KEYS = ("val/loss", "val/auroc", "val/challenge_score")


def curves(run_dir: Path) -> dict[str, list[float]]:
    """Per-epoch validation figures of one run (the newest metrics.csv below it)."""
    files = sorted(run_dir.rglob("metrics.csv"), key=lambda p: p.stat().st_mtime)
    by_epoch: dict[int, dict[str, float]] = defaultdict(dict)
    for row in csv.DictReader(files[-1].open()) if files else []:
        for key in KEYS:
            if row.get(key):
                by_epoch[int(row["epoch"])][key] = float(row[key])
    epochs = sorted(e for e, v in by_epoch.items() if len(v) == len(KEYS))
    return {key: [by_epoch[e][key] for e in epochs] for key in KEYS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", type=Path)
    parser.add_argument("--contains", default="", help="only run directories whose path contains this")
    parser.add_argument("--last", type=int, default=2, help="epochs over which the end's slope is taken")
    args = parser.parse_args()
    variants: dict[str, list[dict[str, list[float]]]] = defaultdict(list)
    for summary in sorted(args.outputs.rglob("summary.json")):
        run = summary.parent
        if args.contains not in str(run):
            continue
        variant = re.sub(r"(^|,)seed=\d+", "", str(run.parent.relative_to(args.outputs)))
        found = curves(run)
        if found["val/loss"]:
            variants[variant].append(found)
    for variant, runs in variants.items():
        n = min(len(r["val/loss"]) for r in runs)
        mean = {k: np.mean([r[k][:n] for r in runs], axis=0) for k in KEYS}
        loss = mean["val/loss"]
        k = min(args.last, n - 1)
        drop = (loss[-1 - k] - loss[-1]) / loss[-1 - k] / k * 100 if k else float("nan")
        gain = (mean["val/auroc"][-1] - mean["val/auroc"][-1 - k]) / k if k else float("nan")
        print(f"{variant}  ({len(runs)} runs, {n} epochs)")
        for key in KEYS:
            print(f"  {key:<20} " + " ".join(f"{v:7.3f}" for v in mean[key]))
        print(f"  last {k} epochs: validation loss -{drop:.1f} % per epoch, AUROC {gain:+.3f} per epoch")


if __name__ == "__main__":
    main()
