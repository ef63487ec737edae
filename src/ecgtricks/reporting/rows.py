"""One row per variant: its scores over its runs and its difference from its reference.

The difference is tested at threshold 0.5 on the (seed, fold) runs both finished, with
:func:`ecgtricks.reporting.stats.compare_runs` (the folds' corrected part and the seeds' part of
the standard error; ``rho`` = mean ``n_val / n_train`` of the compared runs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgtricks.reporting.render import PerClass, class_names
from ecgtricks.reporting.runs import Group, crossfit_scores, pooled_out_of_fold
from ecgtricks.reporting.stats import DEFAULT_ROPE, compare, compare_runs, describe_power, holm

NAN = float("nan")


def _mean_std(values: dict[Any, float]) -> tuple[float, float]:
    v = np.array(list(values.values()), dtype=float)
    if not len(v):
        return NAN, NAN
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0


def references_of(groups: Sequence[Group]) -> dict[str, Group]:
    """Each group's reference (by group key); a reference is not its own."""
    plain: dict[tuple[str, tuple[str, ...]], Group] = {}
    for g in groups:
        if g.plain:
            plain.setdefault((g.experiment, g.rest), g)
    found = {g.key: plain.get((g.experiment, g.rest)) for g in groups}
    return {key: ref for key, ref in found.items() if ref is not None and ref.key != key}


def _comparison(group: Group, reference: Group, rope: float) -> dict[str, Any]:
    """The comparison columns of ``group`` against ``reference`` at threshold 0.5."""
    shared = sorted(set(group.summaries) & set(reference.summaries))
    a, b = group.scores(), reference.scores()
    pairs = {key: a[key] - b[key] for key in shared}
    ratios = [g.val_train_ratio(key) for key in shared for g in (group, reference)]
    rho = float(np.mean(ratios)) if ratios else NAN
    if not pairs:
        return {"reference": reference.key, "n_pairs": 0, "rho": rho, "verdict": "undecided",
                "power": describe_power(NAN, rope)}
    c = compare_runs(pairs, rho, rope=rope)
    # The test that treats every (seed, fold) pair as independent, kept only to show the gap.
    naive = compare(list(pairs.values()), rho, rope=rope).p_uncorrected
    return {
        "reference": reference.key,
        "n_pairs": len(pairs),
        "n_paired_folds": c.n,
        "rho": rho,
        "delta": c.mean,
        "delta_se": c.se_corrected,
        "delta_ci_low": c.ci_low,
        "delta_ci_high": c.ci_high,
        "t_corrected": c.t_corrected,
        "df": c.df,
        "p_corrected": c.p_corrected,
        "p_uncorrected": naive,
        "p_worse": c.p_worse,
        "p_rope": c.p_rope,
        "p_better": c.p_better,
        "rope": rope,
        "verdict": c.verdict,
        "mde": c.mde,
        "power": describe_power(c.mde, rope),
    }


def build_rows(
    groups: Sequence[Group], rope: float = DEFAULT_ROPE
) -> tuple[list[dict[str, Any]], PerClass]:
    """One row per group, and each group's pooled per-class F1."""
    references = references_of(groups)
    rows, per_class = [], {}
    for g in groups:
        score_mean, score_std = _mean_std(g.scores())
        tuned_mean, tuned_std = _mean_std(g.scores("challenge_score_tuned"))
        crossfit_mean, crossfit_std = _mean_std(crossfit_scores(g))
        pooled, f1 = pooled_out_of_fold(g)
        per_class[g.key] = dict(zip(class_names(g.edition), map(float, f1), strict=True))
        row: dict[str, Any] = {
            "experiment": g.experiment,
            "variant": g.variant,
            "n_runs": len(g.summaries),
            "n_seeds": len(g.seeds),
            "n_folds": len(g.folds),
            "edition": g.edition,
            "challenge_score_mean": score_mean,
            "challenge_score_std": score_std,
            "score_crossfit_mean": crossfit_mean,
            "score_crossfit_std": crossfit_std,
            "challenge_score_tuned_mean": tuned_mean,
            "challenge_score_tuned_std": tuned_std,
            "pooled_oof_score": pooled,
            "auroc_mean": _mean_std(g.scores("auroc"))[0],
            "f_measure_mean": _mean_std(g.scores("f_measure"))[0],
            "reference": "", "n_pairs": 0, "n_paired_folds": 0, "rho": NAN,
            "delta": NAN, "delta_se": NAN, "delta_ci_low": NAN, "delta_ci_high": NAN,
            "t_corrected": NAN, "df": NAN, "p_corrected": NAN, "p_holm": NAN, "p_uncorrected": NAN,
            "p_worse": NAN, "p_rope": NAN, "p_better": NAN, "rope": rope, "verdict": "",
            "mde": NAN, "power": "",
        }
        if g.key in references:
            row.update(_comparison(g, references[g.key], rope))
        rows.append(row)
    for reference in {r["reference"] for r in rows if r["reference"]}:
        family = [r for r in rows if r["reference"] == reference]
        for r, adjusted in zip(family, holm([r["p_corrected"] for r in family]), strict=True):
            r["p_holm"] = adjusted
    return rows, per_class
