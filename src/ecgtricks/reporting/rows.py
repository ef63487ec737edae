"""One row per variant: its scores over folds and its difference from its reference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgtricks.reporting.runs import Group, crossfit_scores, pooled_out_of_fold
from ecgtricks.reporting.stats import confidence_interval, holm, paired_test


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
