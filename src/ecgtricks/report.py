"""The ablation report of a sweep: ``python -m ecgtricks.report SWEEP_DIR [--out DIR] [--wandb]``.

Finds every finished run (``summary.json``) below SWEEP_DIR and groups them by experiment and
variant (the run directory's name). Per group, over the folds it finished:

* **score @0.5** -- the challenge score (final official 2020 metric) of each fold's validation
  set at threshold 0.5, mean ± std over folds;
* **tuned, cross-fitted** -- for each fold k, class-wise thresholds tuned on the pooled
  out-of-fold predictions of the *other* folds, applied to fold k: an honest estimate of what
  threshold tuning gives on unseen records (needs two folds or more);
* **tuned on own fold (optimistic)** -- thresholds tuned on the very fold they score: an upper
  bound, not an estimate;
* **pooled OOF** -- all folds' out-of-fold predictions scored at once, each fold binarised with
  the thresholds its model saved;
* Δ against the group's reference at threshold 0.5: the paired mean difference over the folds
  both finished, its 95 % confidence interval (t over the paired differences), the p-value
  (Wilcoxon signed-rank from 6 pairs, paired t below) and ``p_holm``, Holm–Bonferroni-adjusted
  over all groups compared with the same reference.

The reference of a group is the group of the same experiment whose runs have the same
result-changing overrides (read from the summaries) without any ``+trick``/``without`` item:
the baseline for ``+trick=...``, the full recipe for ``without=...``. Classes are shown by the
challenge's abbreviation and code (``AF 164889003``).

Writes ``ablation.md``, ``ablation.csv``, ``per_class_f1.csv``, ``delta.png`` and
``per_class_f1.png``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgtricks.console import setup_logging, user_errors
from ecgtricks.errors import ECGTricksError
from ecgtricks.files import atomic_write_bytes
from ecgtricks.labels import ABBREVIATIONS, SCORED_CLASSES

log = logging.getLogger("ecgtricks.report")

CLASS_NAMES = tuple(f"{ABBREVIATIONS[c]} {c}" for c in SCORED_CLASSES)
_TRICK_KEYS = ("trick", "without")


@dataclass
class Group:
    experiment: str
    variant: str
    rest: tuple[str, ...] = ()  # result-changing overrides other than tricks
    plain: bool = True  # no trick added or removed: a reference
    summaries: dict[int, dict[str, Any]] = field(default_factory=dict)  # by fold
    run_dirs: dict[int, Path] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.variant}"

    def scores(self, metric: str = "challenge_score") -> dict[int, float]:
        return {fold: float(s[metric]) for fold, s in self.summaries.items()}

    def predictions(self, fold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validation labels, probabilities and saved thresholds of one fold's model."""
        from ecgtricks.modeldir import META, OOF

        model = self.run_dirs[fold] / "model"
        saved = np.load(model / OOF)
        thresholds = np.asarray(json.loads((model / META).read_text())["thresholds"])
        return saved["labels"].astype(bool), saved["probabilities"], thresholds

    def config(self) -> dict[str, Any]:
        """The resolved config of one of its runs, as its model directory keeps it."""
        from omegaconf import OmegaConf

        from ecgtricks.modeldir import CONFIG

        path = self.run_dirs[min(self.run_dirs)] / "model" / CONFIG
        return OmegaConf.to_container(OmegaConf.load(path)) if path.is_file() else {}


def split_overrides(overrides: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """The result-changing overrides other than tricks (sorted; ``data.path`` as its dataset
    label), and whether no trick is added or removed (``+trick=[]`` counts as none)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from ecgtricks.rundir import PATH_KEYS, dataset_label, is_result_key

    rest, plain = [], True
    for o in OverridesParser.create().parse_overrides([str(x) for x in overrides]):
        key = o.key_or_group
        if key in _TRICK_KEYS:
            plain = plain and (o.is_delete() or o.value() in (None, "", []))
        elif key == "data.path":
            rest.append(f"data.path={dataset_label(o.value())}")
        elif is_result_key(key) and key not in PATH_KEYS:
            rest.append(o.input_line)
    return tuple(sorted(rest)), plain


def collect(sweep_dir: Path) -> list[Group]:
    """Finished runs below ``sweep_dir``, grouped by (experiment, variant)."""
    groups: dict[tuple[str, str], Group] = {}
    for path in sorted(sweep_dir.rglob("summary.json")):
        summary = json.loads(path.read_text())
        run_dir = path.parent
        key = (str(summary.get("name", run_dir.parent.parent.name)), run_dir.parent.name)
        if key not in groups:
            rest, plain = split_overrides(summary.get("overrides", []))
            groups[key] = Group(*key, rest=rest, plain=plain)
        groups[key].summaries[int(summary["fold"])] = summary
        groups[key].run_dirs[int(summary["fold"])] = run_dir
    # References first within each experiment, then the variants by name.
    return sorted(groups.values(), key=lambda g: (g.experiment, not g.plain, g.variant))


def pooled_out_of_fold(group: Group) -> tuple[float, np.ndarray]:
    """Challenge score and per-class F1 of all folds' validation predictions pooled, each fold
    binarised with the thresholds its model directory saved."""
    from ecgtricks import metrics

    labels, binary = [], []
    for fold in group.run_dirs:
        y, p, thresholds = group.predictions(fold)
        labels.append(y)
        binary.append(p >= thresholds)
    y, b = np.concatenate(labels), np.concatenate(binary)
    return metrics.challenge_score(y, b), metrics.f_measure(y, b)[1]


def crossfit_scores(group: Group) -> dict[int, float]:
    """Per fold k: the challenge score of fold k with thresholds tuned on the pooled out-of-fold
    predictions of the other folds (the run's own threshold candidates). Empty under 2 folds."""
    from ecgtricks import metrics
    from ecgtricks.postprocess import apply_thresholds, tune_thresholds

    folds = sorted(group.run_dirs)
    if len(folds) < 2:
        return {}
    candidates = (group.config().get("postprocess") or {}).get("candidates", "grid")
    data = {fold: group.predictions(fold)[:2] for fold in folds}
    scores = {}
    for fold in folds:
        y_rest = np.concatenate([data[f][0] for f in folds if f != fold])
        p_rest = np.concatenate([data[f][1] for f in folds if f != fold])
        thresholds = tune_thresholds(y_rest, p_rest, candidates=candidates)
        y, p = data[fold]
        scores[fold] = metrics.challenge_score(y, apply_thresholds(p, thresholds))
    return scores


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


def confidence_interval(diffs: Sequence[float], level: float = 0.95) -> tuple[float, float]:
    """Two-sided t interval of the mean of paired differences; NaN under 2 pairs."""
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    if len(d) < 2:
        return float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean() - half), float(d.mean() + half)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (NaN entries stay NaN and do not count)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def _mean_std(values: dict[int, float]) -> tuple[float, float]:
    v = np.array(list(values.values()), dtype=float)
    if not len(v):
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def build_rows(groups: Sequence[Group]) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """One row per group, and each group's pooled per-class F1."""
    references = {}
    for g in groups:
        if g.plain:
            references.setdefault((g.experiment, g.rest), g)
    rows, per_class = [], {}
    for g in groups:
        reference = references.get((g.experiment, g.rest))
        score_mean, score_std = _mean_std(g.scores())
        tuned_mean, tuned_std = _mean_std(g.scores("challenge_score_tuned"))
        crossfit_mean, crossfit_std = _mean_std(crossfit_scores(g))
        pooled, f1 = pooled_out_of_fold(g)
        per_class[g.key] = f1
        row = {
            "experiment": g.experiment,
            "variant": g.variant,
            "folds": len(g.summaries),
            "challenge_score_mean": score_mean,
            "challenge_score_std": score_std,
            "score_crossfit_mean": crossfit_mean,
            "score_crossfit_std": crossfit_std,
            "challenge_score_tuned_mean": tuned_mean,
            "challenge_score_tuned_std": tuned_std,
            "pooled_oof_score": pooled,
            "auroc_mean": _mean_std(g.scores("auroc"))[0],
            "f_measure_mean": _mean_std(g.scores("f_measure"))[0],
            "reference": "",
            "delta": float("nan"),
            "delta_std": float("nan"),
            "delta_ci_low": float("nan"),
            "delta_ci_high": float("nan"),
            "p_value": float("nan"),
            "p_holm": float("nan"),
            "pairs": 0,
        }
        if reference is not None and reference is not g:
            delta, p, n = paired_test(g.scores(), reference.scores())
            shared = sorted(set(g.summaries) & set(reference.summaries))
            diffs = [g.scores()[f] - reference.scores()[f] for f in shared]
            low, high = confidence_interval(diffs)
            row.update(reference=reference.key, delta=delta, p_value=p, pairs=n,
                       delta_std=float(np.std(diffs, ddof=1)) if n > 1 else float("nan"),
                       delta_ci_low=low, delta_ci_high=high)
        rows.append(row)
    for reference in {r["reference"] for r in rows if r["reference"]}:
        family = [r for r in rows if r["reference"] == reference]
        for r, adjusted in zip(family, holm([r["p_value"] for r in family]), strict=True):
            r["p_holm"] = adjusted
    return rows, per_class


def _fmt(value: float, digits: int = 3, sign: bool = False) -> str:
    if value != value:  # NaN
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


_TOKEN = re.compile(r",(?![^\[]*\])")  # commas between overrides, not inside [a,b] values


def common_overrides(variants: Sequence[str]) -> list[str]:
    """The overrides every variant shares (``data.path=...`` of a sweep), in their order."""
    token_lists = [_TOKEN.split(v) for v in variants if v != "default"]
    if len(token_lists) < len(variants) or not token_lists:
        return []
    shared = set.intersection(*(set(t) for t in token_lists))
    return [t for t in token_lists[0] if t in shared]


def short_variant(variant: str, common: Sequence[str]) -> str:
    """A variant without the overrides shared by every run of the report."""
    rest = [t for t in _TOKEN.split(variant) if t not in set(common)]
    return ",".join(rest) or "default"


def to_markdown(rows: Sequence[dict[str, Any]], per_class: dict[str, np.ndarray], sweep_dir: Path) -> str:
    referenced = {r["reference"] for r in rows}
    common = common_overrides([r["variant"] for r in rows])
    short = lambda name: short_variant(name, common)  # noqa: E731
    lines = [
        f"# Ablation report: `{sweep_dir}`",
        "",
        *([f"Overrides of every run (left out of the names below): `{','.join(common)}`", ""] if common else []),
        "Challenge score (final official 2020 metric) of each fold's validation set, mean ± std",
        "over folds. *@0.5*: threshold 0.5. *Tuned, cross-fitted*: each fold scored with class-wise",
        "thresholds tuned on the pooled out-of-fold predictions of the other folds -- the honest",
        "estimate of threshold tuning. *Tuned on own fold*: thresholds tuned on the fold they score,",
        "optimistic (an upper bound, not an estimate). *Pooled OOF*: all folds' out-of-fold",
        "predictions at once, each fold binarised with the thresholds its model saved. Δ: paired",
        "mean difference at threshold 0.5 against the reference over the folds both finished, with",
        "its 95 % confidence interval; p: Wilcoxon signed-rank (≥ 6 pairs) or paired t-test;",
        "p (Holm): adjusted over all variants compared with the same reference.",
        "",
        "| experiment | variant | folds | score @0.5 | tuned, cross-fitted | tuned on own fold (optimistic) "
        "| pooled OOF | AUROC | macro F1 | Δ vs reference [95 % CI] | p (pairs) | p (Holm) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if r["reference"]:
            ref_experiment, _, ref_variant = r["reference"].partition("/")
            delta = (f"{_fmt(r['delta'], sign=True)} [{_fmt(r['delta_ci_low'], sign=True)}, "
                     f"{_fmt(r['delta_ci_high'], sign=True)}] vs `{ref_experiment}/{short(ref_variant)}`")
        else:
            delta = "reference" if f"{r['experiment']}/{r['variant']}" in referenced else "–"
        lines.append(
            f"| {r['experiment']} | `{short(r['variant'])}` | {r['folds']} "
            f"| {_fmt(r['challenge_score_mean'])} ± {_fmt(r['challenge_score_std'])} "
            f"| {_fmt(r['score_crossfit_mean'])} ± {_fmt(r['score_crossfit_std'])} "
            f"| {_fmt(r['challenge_score_tuned_mean'])} ± {_fmt(r['challenge_score_tuned_std'])} "
            f"| {_fmt(r['pooled_oof_score'])} | {_fmt(r['auroc_mean'])} | {_fmt(r['f_measure_mean'])} "
            f"| {delta} | {_fmt(r['p_value'])} ({r['pairs']}) | {_fmt(r['p_holm'])} |"
        )
    names = list(per_class)
    lines += [
        "",
        "## Per-class F1 (pooled out-of-fold, saved thresholds)",
        "",
        "| class | " + " | ".join(f"`{n.partition('/')[0]}/{short(n.partition('/')[2])}`" for n in names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for j, name in enumerate(CLASS_NAMES):
        lines.append(f"| {name} | " + " | ".join(_fmt(per_class[n][j], 2) for n in names) + " |")
    return "\n".join(lines) + "\n"


def per_class_csv(per_class: dict[str, np.ndarray]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["class", "code", *per_class])
    for j, code in enumerate(SCORED_CLASSES):
        writer.writerow([ABBREVIATIONS[code], code, *(_fmt(f[j], 4) for f in per_class.values())])
    return buffer.getvalue()


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
    common = common_overrides([r["variant"] for r in rows])
    names = [f"{r['experiment']}/{short_variant(r['variant'], common)}" for r in shown]
    deltas = np.array([r["delta"] for r in shown], dtype=float)
    low = np.nan_to_num(deltas - np.array([r["delta_ci_low"] for r in shown], dtype=float))
    high = np.nan_to_num(np.array([r["delta_ci_high"] for r in shown], dtype=float) - deltas)
    colors = ["tab:green" if d >= 0 else "tab:red" for d in deltas]
    ax.barh(range(len(shown)), deltas, xerr=np.stack([low, high]) if shown else None, color=colors, capsize=3)
    ax.set_yticks(range(len(shown)), names)
    ax.axvline(0, color="black", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("Δ challenge score vs reference at threshold 0.5 (paired mean, 95 % CI)")
    data = _png(fig)
    plt.close(fig)
    return data


def plot_per_class_f1(per_class: dict[str, np.ndarray]) -> bytes:
    """Variants x classes heat map of pooled out-of-fold F1, the value printed in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(per_class)
    matrix = np.array([per_class[n] for n in names], dtype=float)
    present = ~np.all(np.isnan(matrix), axis=0)  # classes with positives somewhere
    matrix = matrix[:, present]
    labels = [c for c, keep in zip(CLASS_NAMES, present, strict=True) if keep]
    fig, ax = plt.subplots(figsize=(0.6 * len(labels) + 3, 0.5 * len(names) + 2.2))
    image = ax.imshow(np.nan_to_num(matrix, nan=0.0), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    for i, j in np.ndindex(matrix.shape):
        value = matrix[i, j]
        ax.text(j, i, "–" if np.isnan(value) else f"{value:.2f}", ha="center", va="center", fontsize=7,
                color="black" if value > 0.6 else "white")
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    common = common_overrides([n.partition("/")[2] for n in names])
    ax.set_yticks(range(len(names)), [f"{n.partition('/')[0]}/{short_variant(n.partition('/')[2], common)}" for n in names])
    fig.colorbar(image, ax=ax, label="F1 (pooled out-of-fold)")
    data = _png(fig)
    plt.close(fig)
    return data


def write_report(sweep_dir: Path, out_dir: Path) -> tuple[list[dict[str, Any]], list[Group]]:
    groups = collect(sweep_dir)
    if not groups:
        raise ECGTricksError(f"no finished runs (summary.json) below {sweep_dir}")
    rows, per_class = build_rows(groups)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out_dir / "ablation.md", to_markdown(rows, per_class, sweep_dir).encode())
    atomic_write_bytes(out_dir / "ablation.csv", to_csv(rows).encode())
    atomic_write_bytes(out_dir / "per_class_f1.csv", per_class_csv(per_class).encode())
    atomic_write_bytes(out_dir / "delta.png", plot_delta(rows))
    atomic_write_bytes(out_dir / "per_class_f1.png", plot_per_class_f1(per_class))
    failed = sorted(sweep_dir.rglob("error.txt"))
    if failed:
        log.warning("%d failed runs (not in the report): %s", len(failed), ", ".join(str(f.parent) for f in failed))
    return rows, groups


def log_to_wandb(rows: Sequence[dict[str, Any]], groups: Sequence[Group], out_dir: Path, sweep_dir: Path) -> None:
    """The table and figures as a W&B run of job type ``report``, in the runs' own project."""
    import wandb
    from omegaconf import OmegaConf

    from ecgtricks.paths import config_dir
    from ecgtricks.tracking import wandb_entry, wandb_mode

    logger = wandb_entry(groups[0].config().get("logger"))
    if logger is None:  # the runs logged elsewhere: the project's default W&B project
        logger = OmegaConf.to_container(OmegaConf.load(config_dir() / "logger" / "wandb.yaml"))["wandb"]
    run = wandb.init(project=logger["project"], entity=logger.get("entity"),
                     job_type="report", name=f"report:{sweep_dir.name}", dir=str(out_dir),
                     mode=wandb_mode(None))
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
    rows, groups = write_report(args.sweep_dir, out_dir)
    print((out_dir / "ablation.md").read_text())
    print(f"-> {out_dir / 'ablation.md'}, ablation.csv, per_class_f1.csv, delta.png, per_class_f1.png")
    if args.wandb:
        log_to_wandb(rows, groups, out_dir, args.sweep_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
