"""The report as text: the markdown table, the CSV files and the short names of variants."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ecgtricks.scoring.labels import ABBREVIATIONS, SCORED_CLASSES

CLASS_NAMES = tuple(f"{ABBREVIATIONS[c]} {c}" for c in SCORED_CLASSES)


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
