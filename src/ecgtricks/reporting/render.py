"""The report as text: the markdown table, the CSV files and the short names of variants."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ecgtricks.reporting.runs import split_variant
from ecgtricks.scoring.editions import edition

NAN = float("nan")
PerClass = dict[str, dict[str, float]]  # variant key -> class name ("AF 164889003") -> F1


def class_names(year: int = 2020) -> tuple[str, ...]:
    """The classes of an edition as the report names them: abbreviation and code."""
    scored = edition(year)
    return tuple(f"{scored.abbreviations[c]} {c}" for c in scored.codes)


CLASS_NAMES = class_names(2020)


def class_rows(per_class: PerClass) -> list[str]:
    """Every class of the report's variants, in their editions' order (2020 and 2021 classes
    of one code share a row)."""
    seen: dict[str, None] = {}
    for values in per_class.values():
        seen.update(dict.fromkeys(values))
    return list(seen)


def fmt(value: float, digits: int = 3, sign: bool = False) -> str:
    if value != value:  # NaN
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def common_overrides(variants: Sequence[str]) -> list[str]:
    """The overrides every variant shares (``data.path=...`` of a sweep), in their order."""
    token_lists = [split_variant(v) for v in variants if v != "default"]
    if len(token_lists) < len(variants) or not token_lists:
        return []
    shared = set.intersection(*(set(t) for t in token_lists))
    return [t for t in token_lists[0] if t in shared]


def short_variant(variant: str, common: Sequence[str]) -> str:
    """A variant without the overrides shared by every run of the report."""
    rest = [t for t in split_variant(variant) if t not in set(common)]
    return ",".join(rest) or "default"


SCORES_TEXT = (
    "Challenge score (the final official scorer of the runs' edition, 2020 or 2021) of each run's "
    "validation fold, mean ± std over the "
    "runs (seeds × folds; runs that differ only in `seed` are repetitions of one variant). *@0.5*: "
    "threshold 0.5. *Tuned, cross-fitted*: each fold scored with class-wise thresholds tuned on the "
    "pooled out-of-fold predictions of the same seed's other folds -- the honest estimate of "
    "threshold tuning. *Tuned on own fold*: thresholds tuned on the fold they score, optimistic (an "
    "upper bound, not an estimate). *Pooled OOF*: all folds' out-of-fold predictions at once, each "
    "fold binarised with the thresholds its model saved (mean over seeds)."
)
TESTS_TEXT = (
    "Δ: mean difference of the challenge score at threshold 0.5 against the reference over the "
    "(seed, fold) runs both finished (the mean of the fold means). Its standard error has two "
    "parts: the folds' -- their training sets overlap, so the corrected resampled t-test of "
    "Nadeau & Bengio (2003), (1/k + ρ) var(fold means), ρ = n_val / n_train -- and the seeds' -- "
    "a seed re-trains every fold from the same initialisation, so its effect is shared by its folds: "
    "var(seed means) / r; Satterthwaite's degrees of freedom. With one seed the seeds' part cannot "
    "be measured (runs: 1×k): add seeds before trusting a small Δ. *p (corrected)* and the 95 % CI "
    "use that error; *p (Holm)* adjusts p over the variants sharing a reference. *P(worse / ROPE / "
    "better)*: posterior probabilities of the Bayesian correlated t-test (Benavoli, Corani, Demšar "
    "& Zaffalon 2017) with the same location, scale and df, that the true difference is below "
    "−ROPE, within ±ROPE or above +ROPE; the verdict needs ≥ 0.95. *MDE*: the smallest |Δ| this "
    "design detects with 80 % power at α = 0.05. *p (uncorrected)* ignores the overlap of training "
    "sets and the seeds (every pair as independent): shown only to make the difference visible, "
    "never to be quoted."
)


def reference_label(row: dict[str, Any], rows: Sequence[dict[str, Any]], short: Any) -> str:
    """What the Δ column of a row says about its reference."""
    if row["reference"]:
        ref_experiment, _, ref_variant = row["reference"].partition("/")
        return f"{ref_experiment}/{short(ref_variant)}"
    referenced = {r["reference"] for r in rows}
    return "reference" if f"{row['experiment']}/{row['variant']}" in referenced else "–"


def runs_label(row: dict[str, Any]) -> str:
    return f"{row['n_runs']} ({row['n_seeds']}×{row['n_folds']})"


def to_markdown(rows: Sequence[dict[str, Any]], per_class: PerClass, sweep_dir: Path,
                extra: Sequence[str] = ()) -> str:
    """The report as markdown; ``extra`` lines (the transfer section) go before the per-class F1."""
    common = common_overrides([r["variant"] for r in rows])
    short = lambda name: short_variant(name, common)  # noqa: E731
    lines = [
        f"# Ablation report: `{sweep_dir}`",
        "",
        *([f"Overrides of every run (left out of the names below): `{','.join(common)}`", ""] if common else []),
        SCORES_TEXT,
        "",
        "| experiment | variant | runs (seeds×folds) | score @0.5 | tuned, cross-fitted "
        "| tuned on own fold (optimistic) | pooled OOF | AUROC | macro F1 |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['experiment']} | `{short(r['variant'])}` | {runs_label(r)} "
            f"| {fmt(r['challenge_score_mean'])} ± {fmt(r['challenge_score_std'])} "
            f"| {fmt(r['score_crossfit_mean'])} ± {fmt(r['score_crossfit_std'])} "
            f"| {fmt(r['challenge_score_tuned_mean'])} ± {fmt(r['challenge_score_tuned_std'])} "
            f"| {fmt(r['pooled_oof_score'])} | {fmt(r['auroc_mean'])} | {fmt(r['f_measure_mean'])} |"
        )
    compared = [r for r in rows if r["reference"]]
    if compared:
        lines += [
            "",
            "## Differences from the reference",
            "",
            TESTS_TEXT,
            "",
            "| experiment | variant | vs | pairs | Δ [95 % CI] | p (corrected) | p (Holm) "
            "| P(worse / ROPE / better), ROPE ±{:.3f} | verdict | MDE | p (uncorrected, ignores overlap) |".format(
                compared[0]["rope"]),
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in compared:
            lines.append(
                f"| {r['experiment']} | `{short(r['variant'])}` | `{reference_label(r, rows, short)}` "
                f"| {r['n_pairs']} | {fmt(r['delta'], sign=True)} [{fmt(r['delta_ci_low'], sign=True)}, "
                f"{fmt(r['delta_ci_high'], sign=True)}] | {fmt(r['p_corrected'])} | {fmt(r['p_holm'])} "
                f"| {fmt(r['p_worse'], 2)} / {fmt(r['p_rope'], 2)} / {fmt(r['p_better'], 2)} "
                f"| {r['verdict']} | {fmt(r['mde'])} | {fmt(r['p_uncorrected'])} |"
            )
        lines += ["", *(f"- `{short(r['variant'])}`: {r['power']}." for r in compared)]
    if extra:
        lines += ["", *extra]
    names = list(per_class)
    lines += [
        "",
        "## Per-class F1 (pooled out-of-fold, saved thresholds)",
        "",
        "| class | " + " | ".join(f"`{n.partition('/')[0]}/{short(n.partition('/')[2])}`" for n in names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for name in class_rows(per_class):
        lines.append(f"| {name} | " + " | ".join(fmt(per_class[n].get(name, NAN), 2) for n in names) + " |")
    return "\n".join(lines) + "\n"


def per_class_csv(per_class: PerClass) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["class", "code", *per_class])
    for name in class_rows(per_class):
        abbreviation, _, code = name.partition(" ")
        writer.writerow([abbreviation, code, *(fmt(f.get(name, NAN), 4) for f in per_class.values())])
    return buffer.getvalue()


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
