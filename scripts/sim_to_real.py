"""Sim-to-real: train on the twin only, score the real records in ../shared.

    python scripts/sim_to_real.py [--edition 2020|2021] [--twin DIR] [--scale 0.1] [--epochs 12]
                                  [--seed 7] [--real DIR] [--out DIR] [--json FILE]

1. the twin of ``--edition`` (2020, the default, or 2021) at ``--scale`` (``python -m
   ecgtricks.synthesize``; reused when present);
2. ``+trick=large_kernel`` at 250 Hz on it, fold 0 (``python -m ecgtricks.train``; a finished run
   is reused, as every run is);
3. ``python -m ecgtricks.predict`` of that model on the real records (``../shared/data/
   challenge-samples``: 120 records of six databases), then, with the final official scorer of
   the edition, the challenge score at the model's thresholds and at 0.5, the macro AUROC over the classes with
   at least 5 positive real records, the per-class AUROC, and 95 % bootstrap intervals of the
   first two (records drawn with replacement); for all records, for the 80 of the 2020
   sources and for the 40 of Chapman-Shaoxing and Ningbo.

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


def score_real(model_dir: Path, real: Path, outputs: Path, edition: int = 2020) -> dict[str, object]:
    """The model's figures on the real records (labels read as the edition's official scorer
    reads them): all records, then those of the 2020 sources and those of Chapman-Shaoxing and
    Ningbo (``JS`` names), which only the 2021 twin has."""
    from ecgtricks.scoring.label_files import load_labels
    from ecgtricks.scoring.outputs import load_outputs

    run(["ecgtricks.predict", str(model_dir), str(real), str(outputs)])
    names, labels = load_labels(real, edition=edition)
    binary, scores, _ = load_outputs(outputs, names, edition=edition)
    js = np.array([n.startswith("JS") for n in names])
    return {**figures(labels, binary, scores, edition),
            "groups": {"2020 sources": figures(labels[~js], binary[~js], scores[~js], edition),
                       "Chapman-Shaoxing and Ningbo": figures(labels[js], binary[js], scores[js], edition)}}


def figures(labels: np.ndarray, binary: np.ndarray, scores: np.ndarray, edition: int) -> dict[str, object]:
    """Challenge score, macro AUROC over the classes with enough positives, their bootstrap
    intervals, per-class AUROC."""
    from ecgtricks.scoring import metrics
    from ecgtricks.scoring.editions import edition as scorer

    ed = scorer(edition)
    _, _, per_class_auroc, _ = metrics.auroc_auprc(labels, scores)
    positives = labels.sum(axis=0)
    enough = positives >= MIN_POSITIVES
    low, high = _bootstrap(labels, binary, scores, enough, edition)
    return {
        "records": len(labels),
        "challenge_score": metrics.challenge_score(labels, binary, edition=edition),
        "bootstrap_95": {"challenge_score": low[0:1] + high[0:1], "macro_auroc": low[1:2] + high[1:2]},
        "challenge_score_at_0.5": metrics.challenge_score(labels, scores >= 0.5, edition=edition),
        "macro_auroc": float(np.nanmean(per_class_auroc[enough])),
        "classes_with_5_positives": int(enough.sum()),
        "per_class_auroc": {
            f"{ed.abbreviations[c]} {c}": round(float(a), 4)
            for c, a, ok in zip(ed.codes, per_class_auroc, enough, strict=True) if ok
        },
        "positives": {ed.abbreviations[c]: int(n) for c, n in zip(ed.codes, positives, strict=True) if n},
    }


def _bootstrap(labels: np.ndarray, binary: np.ndarray, scores: np.ndarray, classes: np.ndarray,
               edition: int = 2020, draws: int = 1000) -> tuple[list[float], list[float]]:
    """95 % percentile intervals of (challenge score, macro AUROC) over records drawn with
    replacement. Records of one patient (consecutive names of one source) are not independent,
    so these intervals are, if anything, too narrow."""
    from ecgtricks.scoring import metrics

    rng = np.random.default_rng(0)
    drawn = []
    for _ in range(draws):
        pick = rng.integers(0, len(labels), len(labels))
        _, _, per_class, _ = metrics.auroc_auprc(labels[pick], scores[pick])
        drawn.append((metrics.challenge_score(labels[pick], binary[pick], edition=edition),
                       float(np.nanmean(per_class[classes]))))
    low, high = np.percentile(np.asarray(drawn), [2.5, 97.5], axis=0)
    return [round(float(v), 4) for v in low], [round(float(v), 4) for v in high]


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
    parser.add_argument("--edition", type=int, default=2020, choices=(2020, 2021),
                        help="the twin's edition (2021 adds Chapman-Shaoxing and Ningbo) and its scorer")
    args = parser.parse_args()
    if not args.real.is_dir():
        raise SystemExit(f"no real records at {args.real}")
    started = time.perf_counter()
    run(["ecgtricks.synthesize", str(args.twin), "--scale", str(args.scale), "--seed", "0",
         "--edition", str(args.edition)])
    overrides = [f"data=challenge{args.edition}", f"data.path={args.twin}", "+trick=large_kernel",
                 "preprocess.resample.fs=250", f"trainer.max_epochs={args.epochs}", f"seed={args.seed}",
                 "fold=0", "logger=csv", f"output_root={args.out}", *args.extra]
    run(["ecgtricks.train", *overrides])
    from ecgtricks.runs.rundir import variant_name

    summary = args.out / "baseline" / variant_name(overrides, str(args.twin)) / "fold0" / "summary.json"
    if not summary.is_file():
        raise SystemExit(f"{summary} was not written")
    twin = json.loads(summary.read_text())
    real = score_real(summary.parent / "model", args.real, summary.parent / "real-outputs", args.edition)
    result = {"command": "python scripts/sim_to_real.py " + " ".join(sys.argv[1:]),
              "twin_validation": {k: twin[k] for k in ("challenge_score", "challenge_score_tuned", "auroc")},
              "real": real, "wall_s": round(time.perf_counter() - started, 1)}
    print(f"twin fold 0: challenge score {twin['challenge_score']:.3f} @0.5, {twin['challenge_score_tuned']:.3f} tuned, "
          f"AUROC {twin['auroc']:.3f}")
    for name, group in [("all", real), *real["groups"].items()]:
        boot = group["bootstrap_95"]
        print(f"real, {name} ({group['records']} records): challenge score {group['challenge_score']:.3f} at the "
              f"model's thresholds ({group['challenge_score_at_0.5']:.3f} @0.5; 95 % {boot['challenge_score'][0]:.3f} "
              f"to {boot['challenge_score'][1]:.3f}), macro AUROC {group['macro_auroc']:.3f} (95 % "
              f"{boot['macro_auroc'][0]:.3f} to {boot['macro_auroc'][1]:.3f}) over {group['classes_with_5_positives']} "
              f"classes with >= {MIN_POSITIVES} positives")
        print("  " + ", ".join(f"{k.split()[0]} {v:.2f}" for k, v in
                               sorted(group["per_class_auroc"].items(), key=lambda kv: -kv[1])))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
