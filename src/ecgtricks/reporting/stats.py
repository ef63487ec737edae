"""Paired comparisons of fold scores: differences, their intervals and p-values, Holm's adjustment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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
