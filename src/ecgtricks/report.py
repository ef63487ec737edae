"""The ablation report of a sweep: ``python -m ecgtricks.report SWEEP_DIR [--out DIR] [--wandb]``.

Finds every finished run (``summary.json``) below SWEEP_DIR and groups them by experiment and
variant (the trick combination). Per group: folds finished, challenge score mean ± std at
threshold 0.5 and with the saved (tuned) thresholds, the score of the pooled out-of-fold
predictions, macro AUROC and F1, and the change against its reference with a paired test over
the folds both finished. The reference of a variant is the run of the same experiment and the same other overrides
without its ``+trick``/``without`` items (or with ``+trick=[]``): the baseline for
``+trick=...``, the full recipe for ``without=...``.

Writes ``ablation.md``, ``ablation.csv``, ``delta.png`` and ``per_class_f1.png``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgtricks.cli import setup_logging, user_errors
from ecgtricks.errors import ECGTricksError
from ecgtricks.io import atomic_write_bytes

log = logging.getLogger("ecgtricks.report")


@dataclass
class Group:
    experiment: str
    variant: str
    summaries: dict[int, dict[str, Any]] = field(default_factory=dict)  # by fold
    run_dirs: dict[int, Path] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.variant}"

    def scores(self, metric: str = "challenge_score") -> dict[int, float]:
        return {fold: float(s[metric]) for fold, s in self.summaries.items()}


def collect(sweep_dir: Path) -> list[Group]:
    """Finished runs below ``sweep_dir``, grouped by (experiment, variant)."""
    groups: dict[tuple[str, str], Group] = {}
    for path in sorted(sweep_dir.rglob("summary.json")):
        summary = json.loads(path.read_text())
        run_dir = path.parent
        variant = run_dir.parent.name
        key = (str(summary.get("name", run_dir.parent.parent.name)), variant)
        group = groups.setdefault(key, Group(*key))
        group.summaries[int(summary["fold"])] = summary
        group.run_dirs[int(summary["fold"])] = run_dir
    # References first within each experiment, then the variants by name.
    return sorted(groups.values(), key=lambda g: (g.experiment, not split_variant(g.variant)[1], g.variant))


_TRICK_KEYS = ("+trick", "trick", "without", "~trick")


def _items(variant: str) -> list[str]:
    """``k=v`` items of a variant name; commas inside brackets belong to a value."""
    if variant == "default":
        return []
    items, depth, current = [], 0, ""
    for char in variant:
        depth += char in "[(" and 1 or 0
        depth -= char in "])" and 1 or 0
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    return [*items, current] if current else items


def split_variant(variant: str) -> tuple[str, bool]:
    """The variant without its trick items (``default`` when nothing is left), and whether it
    has no tricks at all (``+trick=[]`` counts as none): such a run is a reference."""
    rest, tricks = [], []
    for item in _items(variant):
        key, _, value = item.partition("=")
        if key in _TRICK_KEYS:
            tricks.append(value)
        else:
            rest.append(item)
    return (",".join(rest) or "default"), all(v in ("", "[]", "null") for v in tricks)


def pooled_out_of_fold(group: Group) -> tuple[float, np.ndarray]:
    """Challenge score and per-class F1 of all folds' validation predictions pooled, each fold
    binarised with the thresholds its model directory saved."""
    from ecgtricks import metrics

    labels, binary = [], []
    for run_dir in group.run_dirs.values():
        model = run_dir / "model"
        predictions = np.load(model / "val_predictions.npz")
        thresholds = np.asarray(json.loads((model / "model.json").read_text())["thresholds"])
        labels.append(predictions["labels"].astype(bool))
        binary.append(predictions["probabilities"] >= thresholds)
    y, b = np.concatenate(labels), np.concatenate(binary)
    return metrics.challenge_score(y, b), metrics.f_measure(y, b)[1]


def paired_test(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, int]:
    """Mean difference a − b over shared folds, its p-value, and the number of pairs.

    Wilcoxon signed-rank from 6 pairs on (no normality assumed), a paired t-test below that
    (the signed-rank test cannot reach p < 0.05 with fewer than 6 pairs); NaN under 2 pairs.
    """
    from scipy import stats

    folds = sorted(set(a) & set(b))
    diffs = np.array([a[f] - b[f] for f in folds])
    if len(diffs) < 2:
        return (float(diffs.mean()) if len(diffs) else float("nan")), float("nan"), len(diffs)
    if not diffs.any():
        return 0.0, 1.0, len(diffs)
    if len(diffs) >= 6:
        p = stats.wilcoxon(diffs).pvalue
    else:
        p = stats.ttest_rel([a[f] for f in folds], [b[f] for f in folds]).pvalue
    return float(diffs.mean()), float(p), len(diffs)


def _mean_std(values: dict[int, float]) -> tuple[float, float]:
    v = np.array(list(values.values()), dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def build_rows(groups: Sequence[Group]) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """One row per group, and each group's pooled per-class F1."""
    references = {}
    for g in groups:
        base, plain = split_variant(g.variant)
        if plain:
            references.setdefault((g.experiment, base), g)
    rows, per_class = [], {}
    for g in groups:
        reference = references.get((g.experiment, split_variant(g.variant)[0]))
        score_mean, score_std = _mean_std(g.scores())
        tuned_mean, tuned_std = _mean_std(g.scores("challenge_score_tuned"))
        pooled, f1 = pooled_out_of_fold(g)
        per_class[g.key] = f1
        row = {
            "experiment": g.experiment,
            "variant": g.variant,
            "folds": len(g.summaries),
            "challenge_score_mean": score_mean,
            "challenge_score_std": score_std,
            "challenge_score_tuned_mean": tuned_mean,
            "challenge_score_tuned_std": tuned_std,
            "pooled_oof_score": pooled,
            "auroc_mean": _mean_std(g.scores("auroc"))[0],
            "f_measure_mean": _mean_std(g.scores("f_measure"))[0],
            "reference": "",
            "delta": float("nan"),
            "delta_std": float("nan"),
            "p_value": float("nan"),
            "pairs": 0,
        }
        if reference is not None and reference is not g:
            delta, p, n = paired_test(g.scores(), reference.scores())
            shared = sorted(set(g.summaries) & set(reference.summaries))
            diffs = [g.scores()[f] - reference.scores()[f] for f in shared]
            row.update(reference=reference.key, delta=delta, p_value=p, pairs=n,
                       delta_std=float(np.std(diffs, ddof=1)) if n > 1 else float("nan"))
        rows.append(row)
    return rows, per_class


def _fmt(value: float, digits: int = 3, sign: bool = False) -> str:
    if value != value:  # NaN
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def to_markdown(rows: Sequence[dict[str, Any]], sweep_dir: Path) -> str:
    lines = [
        f"# Ablation report: `{sweep_dir}`",
        "",
        "Challenge score (2020 metric) of each fold's validation set, mean ± std over folds: at",
        "threshold 0.5, and *tuned* with class-wise thresholds tuned on that same fold (optimistic:",
        "an upper bound of what tuning can give). *Pooled OOF* scores all folds' out-of-fold",
        "predictions at once, each fold binarised with the thresholds its model saved (0.5 unless",
        "`threshold_tuning`). Δ: paired mean difference at threshold 0.5 against the reference over",
        "the folds both finished, ± the std of those differences; p: Wilcoxon signed-rank",
        "(≥ 6 pairs) or paired t-test.",
        "",
        "| experiment | variant | folds | score @0.5 | score tuned | pooled OOF | AUROC | macro F1 | Δ vs reference | p (pairs) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        delta = "reference" if not r["reference"] and split_variant(r["variant"])[1] else (
            f"{_fmt(r['delta'], sign=True)} ± {_fmt(r['delta_std'])} vs `{r['reference']}`" if r["reference"] else "–")
        lines.append(
            f"| {r['experiment']} | `{r['variant']}` | {r['folds']} "
            f"| {_fmt(r['challenge_score_mean'])} ± {_fmt(r['challenge_score_std'])} "
            f"| {_fmt(r['challenge_score_tuned_mean'])} ± {_fmt(r['challenge_score_tuned_std'])} "
            f"| {_fmt(r['pooled_oof_score'])} | {_fmt(r['auroc_mean'])} | {_fmt(r['f_measure_mean'])} "
            f"| {delta} | {_fmt(r['p_value'])} ({r['pairs']}) |"
        )
    return "\n".join(lines) + "\n"


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    return buffer.getvalue()


def plot_delta(rows: Sequence[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r["reference"]]
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(shown), 1) + 1.2))
    names = [f"{r['experiment']}/{r['variant']}" for r in shown]
    deltas = [r["delta"] for r in shown]
    errors = [0.0 if r["delta_std"] != r["delta_std"] else r["delta_std"] for r in shown]
    colors = ["tab:green" if d >= 0 else "tab:red" for d in deltas]
    ax.barh(range(len(shown)), deltas, xerr=errors, color=colors, capsize=3)
    ax.set_yticks(range(len(shown)), names)
    ax.axvline(0, color="black", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("Δ challenge score vs reference (mean ± std of paired fold differences)")
    data = _png(fig)
    plt.close(fig)
    return data


def plot_per_class_f1(per_class: dict[str, np.ndarray]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecgtricks.labels import SCORED_CLASSES

    names = list(per_class)
    matrix = np.array([per_class[n] for n in names], dtype=float)
    present = ~np.all(np.isnan(matrix), axis=0)  # classes with positives somewhere
    matrix = matrix[:, present]
    codes = [c for c, keep in zip(SCORED_CLASSES, present, strict=True) if keep]
    fig, ax = plt.subplots(figsize=(0.45 * len(codes) + 3, 0.45 * len(names) + 1.5))
    image = ax.imshow(np.nan_to_num(matrix, nan=0.0), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(codes)), codes, rotation=90)
    ax.set_yticks(range(len(names)), names)
    fig.colorbar(image, ax=ax, label="F1 (pooled out-of-fold)")
    data = _png(fig)
    plt.close(fig)
    return data


def write_report(sweep_dir: Path, out_dir: Path) -> list[dict[str, Any]]:
    groups = collect(sweep_dir)
    if not groups:
        raise ECGTricksError(f"no finished runs (summary.json) below {sweep_dir}")
    rows, per_class = build_rows(groups)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "ablation.md", to_markdown(rows, sweep_dir).encode())
    atomic_write_bytes(out_dir / "ablation.csv", to_csv(rows).encode())
    atomic_write_bytes(out_dir / "delta.png", plot_delta(rows))
    atomic_write_bytes(out_dir / "per_class_f1.png", plot_per_class_f1(per_class))
    failed = sorted(sweep_dir.rglob("error.txt"))
    if failed:
        log.warning("%d failed runs (not in the report): %s", len(failed), ", ".join(str(f.parent) for f in failed))
    return rows


def log_to_wandb(rows: Sequence[dict[str, Any]], out_dir: Path, sweep_dir: Path) -> None:
    import wandb

    from ecgtricks.tracking import wandb_mode

    run = wandb.init(project="ecgtricks", job_type="report", name=f"report:{sweep_dir.name}",
                     dir=str(out_dir), mode=wandb_mode(None))
    run.log({
        "ablation": wandb.Table(columns=list(rows[0]), data=[list(r.values()) for r in rows]),
        "delta": wandb.Image(str(out_dir / "delta.png")),
        "per_class_f1": wandb.Image(str(out_dir / "per_class_f1.png")),
    })
    run.finish()


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a directory of runs, e.g. outputs/ or a multirun dir")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: SWEEP_DIR)")
    parser.add_argument("--wandb", action="store_true", help="also log the table and figures to W&B")
    args = parser.parse_args(argv)
    setup_logging()
    if not args.sweep_dir.is_dir():
        raise ECGTricksError(f"{args.sweep_dir} is not a directory")
    out_dir = args.out or args.sweep_dir
    rows = write_report(args.sweep_dir, out_dir)
    print((out_dir / "ablation.md").read_text())
    print(f"-> {out_dir / 'ablation.md'}, ablation.csv, delta.png, per_class_f1.png")
    if args.wandb:
        log_to_wandb(rows, out_dir, args.sweep_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
