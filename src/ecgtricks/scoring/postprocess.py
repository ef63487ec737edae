"""Turning class probabilities into binary outputs: per-class thresholds and ensembles.

:func:`tune_thresholds` picks one threshold per class that maximises the Challenge metric of an
edition (2020 by default; :func:`ecgtricks.scoring.metrics.challenge_score`) on the data it is
given, by coordinate ascent: starting from ``start`` (0.5) for every class, it sweeps over the
classes and moves a class's threshold to the best candidate whenever that strictly raises the
score, until a whole sweep changes nothing (or ``max_sweeps`` is reached). Only strict
improvements are accepted, so the result never scores below the starting thresholds on the
tuning data.

Why it is fast: of the three terms of the metric only the observed score depends on the
outputs, and it is a sum over recordings ``sum_i (y_i W) . o_i / max(1, |y_i OR o_i|)``.
Changing class ``c``'s threshold flips only ``o_ic``, so with the other classes fixed each
recording contributes a constant plus ``g_i`` when ``o_ic`` is on, where ``g_i`` follows from
that recording's sums *without* class ``c``. Every threshold switches on a prefix of the
recordings sorted by decreasing probability, so one cumulative sum of ``g`` (in that order)
scores all candidates of the class at once -- the same numbers as evaluating a
(candidates x recordings) array, in O(N + K) instead of O(N K) per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ecgtricks.scoring.editions import Edition
from ecgtricks.scoring.editions import edition as _edition
from ecgtricks.scoring.metrics import challenge_terms

__all__ = [
    "GRID",
    "TuningResult",
    "apply_thresholds",
    "average_probabilities",
    "combine_thresholds",
    "threshold_search",
    "tune_thresholds",
]

# 0.01, 0.02, ..., 0.99, rounded so that the values print (and compare) as written.
GRID: np.ndarray = np.round(np.arange(1, 100) / 100.0, 2)
GRID.flags.writeable = False

Candidates = Literal["grid", "distinct"] | np.ndarray


@dataclass(frozen=True)
class TuningResult:
    """Outcome of :func:`threshold_search`.

    ``score`` is ``challenge_score(labels, probabilities >= thresholds)`` and ``start_score``
    the same for the starting thresholds;
    ``sweeps`` counts the sweeps over all classes that were run.
    """

    thresholds: np.ndarray
    score: float
    start_score: float
    sweeps: int


# --------------------------------------------------------------------------- helpers


def _check_pair(
    labels: np.ndarray, probabilities: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels)
    p = np.asarray(probabilities, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] != n_classes:
        raise ValueError(f"labels must be (N, {n_classes}), got shape {y.shape}")
    if p.shape != y.shape:
        raise ValueError(f"probabilities of shape {p.shape} do not match labels of shape {y.shape}")
    if y.dtype != bool:
        if not ((y == 0) | (y == 1)).all():
            raise ValueError("labels must contain only 0/1 (or bool) values")
        y = y != 0
    # NaN never passes a threshold (NaN >= t is False); -inf sorts and compares the same way.
    return y, np.where(np.isnan(p), -np.inf, p)


def _candidate_list(candidates: Candidates, p: np.ndarray) -> list[np.ndarray]:
    """Sorted candidate thresholds for each class (column of ``p``)."""
    n_classes = p.shape[1]
    if isinstance(candidates, str):
        if candidates == "grid":
            return [GRID] * n_classes
        if candidates == "distinct":
            return [_distinct_candidates(p[:, c]) for c in range(n_classes)]
        raise ValueError(f"candidates must be 'grid', 'distinct' or an array, got {candidates!r}")
    cand = np.unique(np.asarray(candidates, dtype=np.float64))
    if cand.ndim != 1 or not np.isfinite(cand).all():
        raise ValueError("an explicit candidates array must be 1-D and finite")
    return [cand] * n_classes


def _distinct_candidates(column: np.ndarray) -> np.ndarray:
    """One threshold per distinct way of splitting the column's values.

    The smallest value (everything positive), the midpoints between consecutive distinct
    values (midpoints rather than the values themselves so that a tuned threshold sits between
    the scores it separates and does not hug one training score), and the next float above the
    largest value (nothing positive).
    """
    values = np.unique(column[np.isfinite(column)])
    if values.size == 0:
        return np.empty(0)
    middle = values[:-1] + 0.5 * (values[1:] - values[:-1])
    return np.concatenate(([values[0]], middle, [np.nextafter(values[-1], np.inf)]))


# --------------------------------------------------------------------------- tuning


def threshold_search(
    labels: np.ndarray,
    probabilities: np.ndarray,
    *,
    candidates: Candidates = "grid",
    max_sweeps: int = 10,
    start: float | np.ndarray = 0.5,
    edition: int | str | Edition = 2020,
) -> TuningResult:
    """Coordinate ascent on per-class thresholds; see :func:`tune_thresholds`.

    Returns the thresholds together with the score they reach on the given data.
    """
    ed = _edition(edition)
    y, p = _check_pair(labels, probabilities, ed.n_classes)
    n, n_classes = y.shape
    if max_sweeps < 0:
        raise ValueError(f"max_sweeps must be >= 0, got {max_sweeps}")
    thresholds = np.array(np.broadcast_to(np.asarray(start, dtype=np.float64), (n_classes,)))
    if not np.isfinite(thresholds).all():
        raise ValueError("start thresholds must be finite")

    if n == 0:
        return TuningResult(thresholds, float("nan"), float("nan"), 0)
    terms = challenge_terms(y, edition=ed)
    yw = terms.yw
    o = p >= thresholds
    start_score = terms.normalise(terms.observed(o))
    # Maximising the observed score maximises the metric only when correct > inactive; when
    # the metric is degenerate there is nothing to tune.
    if not terms.correct > terms.inactive:
        return TuningResult(thresholds, start_score, start_score, 0)

    cand = _candidate_list(candidates, p)
    # Per class, fixed across sweeps: recordings by decreasing probability, and for every
    # candidate t the number of recordings with p >= t (a prefix of that order, ties included).
    order = np.argsort(-p, axis=0, kind="stable")
    p_sorted = np.take_along_axis(p, order, axis=0)[::-1]  # ascending, for searchsorted
    n_on = [n - np.searchsorted(p_sorted[:, c], cand[c], side="left") for c in range(n_classes)]
    # Gains below float noise of an N-term sum must not count as improvements; real gains of
    # one recording are orders of magnitude larger.
    tol = 1e-10 * max(n, 1)

    sweeps = 0
    for _ in range(max_sweeps):
        sweeps += 1
        s = np.einsum("ij,ij->i", yw, o.astype(np.float64))  # per-recording numerator (y_i W) . o_i
        u = np.count_nonzero(y | o, axis=1)  # per-recording |y_i OR o_i|
        improved = False
        for c in range(n_classes):
            if cand[c].size == 0:
                continue
            yc, oc, ywc = y[:, c], o[:, c], yw[:, c]
            rest = s - ywc * oc  # sums over the other classes
            u_rest = u - (yc | oc)
            gain = (rest + ywc) / np.maximum(u_rest + 1, 1) - rest / np.maximum(u_rest + yc, 1)
            prefix = np.concatenate(([0.0], np.cumsum(gain[order[:, c]])))
            values = prefix[n_on[c]]
            current = prefix[np.count_nonzero(oc)]
            best = int(np.argmax(values))  # ties: the lowest threshold of the candidates
            if values[best] > current + tol:
                thresholds[c] = cand[c][best]
                new = p[:, c] >= thresholds[c]
                o[:, c] = new
                s = rest + ywc * new
                u = u_rest + (yc | new)
                improved = True
        if not improved:
            break

    score = terms.normalise(terms.observed(o))
    return TuningResult(thresholds, score, start_score, sweeps)


def tune_thresholds(
    labels: np.ndarray,
    probabilities: np.ndarray,
    *,
    candidates: Candidates = "grid",
    max_sweeps: int = 10,
    start: float | np.ndarray = 0.5,
    edition: int | str | Edition = 2020,
) -> np.ndarray:
    """Per-class thresholds (24,) maximising the 2020 Challenge metric on the given data
    (``edition=2021``: (26,), the 2021 metric and classes).

    ``labels`` (N, 24) 0/1 and ``probabilities`` (N, 24) in :data:`SCORED_CLASSES` order; a
    recording is positive for class ``c`` when ``probability >= threshold[c]`` (NaN never is).
    Coordinate ascent from ``start`` (a scalar or 24 values), at most ``max_sweeps`` sweeps.
    ``candidates``:

    * ``"grid"`` -- 0.01, 0.02, ..., 0.99 for every class;
    * ``"distinct"`` -- per class, every distinct split of its probabilities: the smallest
      value, the midpoints between consecutive distinct values and the next float above the
      largest value (so every achievable set of positives is reachable);
    * a 1-D array -- the same explicit thresholds for every class.

    A class keeps its threshold unless a candidate strictly raises the score, so the result
    never scores below ``start`` on these data; among equally good candidates the lowest wins.
    """
    return threshold_search(
        labels,
        probabilities,
        candidates=candidates,
        max_sweeps=max_sweeps,
        start=start,
        edition=edition,
    ).thresholds


def apply_thresholds(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Binary outputs ``probabilities >= thresholds`` (thresholds along the last axis)."""
    p = np.asarray(probabilities, dtype=np.float64)
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or p.ndim < 1 or p.shape[-1] != t.shape[0]:
        raise ValueError(
            f"thresholds of shape {t.shape} do not match probabilities of shape {p.shape}"
        )
    with np.errstate(invalid="ignore"):
        return p >= t  # NaN compares False: a missing probability is a negative output


# --------------------------------------------------------------------------- ensembles


def average_probabilities(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """Mean over models of equally shaped probability arrays (e.g. one per fold model)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in probabilities]
    if not arrays:
        raise ValueError("no probability arrays to average")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"probability arrays differ in shape: {sorted(shapes)}")
    return np.mean(np.stack(arrays), axis=0)


def combine_thresholds(
    thresholds_per_model: np.ndarray,
    *,
    method: Literal["mean", "retune"] = "mean",
    oof_labels: np.ndarray | None = None,
    oof_probabilities: np.ndarray | None = None,
    candidates: Candidates = "grid",
    max_sweeps: int = 10,
    edition: int | str | Edition = 2020,
) -> np.ndarray:
    """One threshold vector for an ensemble from per-model (e.g. per-fold) thresholds (M, 24)
    (``edition=2021``: (M, 26)).

    ``"mean"`` averages them. ``"retune"`` runs :func:`tune_thresholds` on the pooled
    out-of-fold labels and probabilities, starting from that mean -- so the result is never
    worse than the mean thresholds on the pooled predictions.
    """
    n_classes = _edition(edition).n_classes
    t = np.asarray(thresholds_per_model, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] != n_classes:
        raise ValueError(
            f"thresholds_per_model must be (M, {n_classes}) with M >= 1, got {t.shape}"
        )
    mean = t.mean(axis=0)
    if method == "mean":
        return mean
    if method == "retune":
        if oof_labels is None or oof_probabilities is None:
            raise ValueError("method='retune' needs oof_labels and oof_probabilities")
        return tune_thresholds(
            oof_labels,
            oof_probabilities,
            candidates=candidates,
            max_sweeps=max_sweeps,
            start=mean,
            edition=edition,
        )
    raise ValueError(f"method must be 'mean' or 'retune', got {method!r}")
