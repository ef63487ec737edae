"""Scores of the PhysioNet/CinC Challenge 2020 and 2021, vectorised over recordings.

The definitions are those of the final official scorers -- ``evaluate_12ECG_score.py`` of
physionetchallenges/evaluation-2020 and ``evaluate_model.py`` of evaluation-2021, the scorers of
each year's final results, whose metric code is the same: macro AUROC/AUPRC from the
confusion matrices at every distinct output value, recording-wise accuracy, macro F-measure,
the F-beta/G-beta measures of the 2020 unofficial phase (contributions normalised by each
recording's number of labels, at least 1; not reported by the 2021 scorer) and the Challenge
metric (a weighted multi-label confusion matrix normalised between an always-correct and an
always-normal model; 0 when those two coincide). Per-class values that the official code leaves
undefined are NaN and dropped by ``nanmean``. The tests hold every function here to those
scripts themselves, run as oracles.

Inputs are ``(N, C)`` arrays whose columns follow the edition's classes
(:mod:`ecgtricks.scoring.editions`; by default 2020, :data:`SCORED_CLASSES`, 24 classes: the
codes of an equivalent pair are one class; ``edition=2021``: 26 classes); labels and binary
outputs may be bool, int or float 0/1. Only the Challenge metric depends on the edition (its
weights and classes) and :func:`evaluate` (which scores it reports).
:mod:`ecgtricks.scoring.outputs` reads label and output folders into that form. Empty inputs
(N = 0), which the official code cannot take, give NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ecgtricks.scoring.editions import Edition
from ecgtricks.scoring.editions import edition as _edition
from ecgtricks.scoring.labels import NORMAL_CLASS, SCORED_CLASSES

__all__ = [
    "NORMAL_CLASS",
    "SCORED_CLASSES",
    "ChallengeTerms",
    "accuracy",
    "auroc_auprc",
    "challenge_score",
    "challenge_terms",
    "evaluate",
    "f_measure",
    "fbeta_gbeta",
]


# --------------------------------------------------------------------------- input handling


def _binary_values(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == bool:
        return a
    # Refuse probabilities passed where 0/1 decisions are expected.
    if not ((a == 0) | (a == 1)).all():
        raise ValueError(f"{name} must contain only 0/1 (or bool) values")
    return a != 0


def _as_binary(array: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (recordings x classes) array, got shape {a.shape}")
    return _binary_values(a, name)


def _as_scores(array: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(array, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (recordings x classes) array, got shape {a.shape}")
    # The official loader replaces missing (NaN) outputs by 0.
    return np.where(np.isnan(a), 0.0, a)


def _same_shape(**arrays: np.ndarray) -> None:
    shapes = {name: a.shape for name, a in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"shape mismatch: {shapes}")


def _nanmean(values: np.ndarray) -> float:
    # All-NaN input is a legitimate "undefined" result, not a warning-worthy event.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(values)) if values.size else float("nan")


# --------------------------------------------------------------------------- metrics


def accuracy(labels: np.ndarray, binary_outputs: np.ndarray) -> float:
    """Fraction of recordings whose whole label row is predicted exactly."""
    y, o = _as_binary(labels, "labels"), _as_binary(binary_outputs, "binary_outputs")
    _same_shape(labels=y, binary_outputs=o)
    if y.shape[0] == 0:
        return float("nan")
    return float(np.count_nonzero(np.all(y == o, axis=1))) / float(y.shape[0])


def f_measure(labels: np.ndarray, binary_outputs: np.ndarray) -> tuple[float, np.ndarray]:
    """Macro F1 and the per-class F1 ``2TP / (2TP + FP + FN)``.

    A class without positive labels and without positive outputs is NaN and left out of the
    macro average, as in the official code.
    """
    y, o = _as_binary(labels, "labels"), _as_binary(binary_outputs, "binary_outputs")
    _same_shape(labels=y, binary_outputs=o)
    tp = np.count_nonzero(y & o, axis=0).astype(np.float64)
    fp = np.count_nonzero(~y & o, axis=0).astype(np.float64)
    fn = np.count_nonzero(y & ~o, axis=0).astype(np.float64)
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(denom > 0, 2 * tp / denom, np.nan)
    return _nanmean(per_class), per_class


def fbeta_gbeta(
    labels: np.ndarray, binary_outputs: np.ndarray, beta: float = 2
) -> tuple[float, float]:
    """Macro F-beta and G-beta of the 2020 unofficial phase.

    Each recording adds ``1 / max(1, #labels)`` to its
    TP/FP/FN counts; ``F = (1+b^2)TP / ((1+b^2)TP + FP + b^2 FN)`` and -- as in the official
    code, with ``beta`` rather than ``beta**2`` -- ``G = TP / (TP + FP + b FN)``.
    """
    y, o = _as_binary(labels, "labels"), _as_binary(binary_outputs, "binary_outputs")
    _same_shape(labels=y, binary_outputs=o)
    w = 1.0 / np.maximum(np.count_nonzero(y, axis=1), 1).astype(np.float64)
    tp = w @ (y & o)
    fp = w @ (~y & o)
    fn = w @ (y & ~o)
    b2 = beta**2
    f_denom = (1 + b2) * tp + fp + b2 * fn
    g_denom = tp + fp + beta * fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(f_denom != 0, (1 + b2) * tp / f_denom, np.nan)
        g = np.where(g_denom != 0, tp / g_denom, np.nan)
    return _nanmean(f), _nanmean(g)


def auroc_auprc(
    labels: np.ndarray, scores: np.ndarray
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Macro and per-class AUROC/AUPRC from the confusion matrices at each distinct score.

    As the official code: thresholds are the distinct scores (descending) preceded by one above
    the maximum (nothing positive); AUROC is the trapezoid area of TNR over TPR, AUPRC the
    step area ``sum(dTPR * PPV)``. A class without positives gives NaN for both, a class
    without negatives NaN AUROC; macro values are ``nanmean``. NaN scores count as 0.
    """
    y = _as_binary(labels, "labels")
    s = _as_scores(scores, "scores")
    _same_shape(labels=y, scores=s)
    n, n_classes = y.shape
    auroc = np.full(n_classes, np.nan)
    auprc = np.full(n_classes, np.nan)
    for k in range(n_classes):
        n_pos = float(np.count_nonzero(y[:, k]))
        n_neg = float(n) - n_pos
        if n_pos == 0:
            continue
        # Positives/totals per distinct score, then cumulative from the highest score down:
        # entry j>=1 is the confusion matrix at threshold "score >= j-th largest value".
        values, inverse = np.unique(s[:, k], return_inverse=True)
        pos = np.bincount(inverse, weights=y[:, k], minlength=values.size)[::-1]
        tot = np.bincount(inverse, minlength=values.size)[::-1].astype(np.float64)
        tp = np.concatenate(([0.0], np.cumsum(pos)))
        fp = np.concatenate(([0.0], np.cumsum(tot - pos)))
        tpr = tp / n_pos
        d_tpr = np.diff(tpr)
        ppv = tp[1:] / (tp[1:] + fp[1:])  # every threshold >= a present score: never 0/0
        auprc[k] = np.sum(d_tpr * ppv)
        if n_neg > 0:
            tnr = (n_neg - fp) / n_neg
            auroc[k] = np.sum(0.5 * d_tpr * (tnr[1:] + tnr[:-1]))
    return _nanmean(auroc), _nanmean(auprc), auroc, auprc


@dataclass(frozen=True)
class ChallengeTerms:
    """The parts of the Challenge metric that do not depend on the outputs, for given labels.

    ``score(o) = (observed(o) - inactive) / (correct - inactive)`` with ``observed(o) =
    sum_i (y_i W) . o_i / max(1, |y_i OR o_i|)``: ``yw`` holds ``y_i W`` for every recording,
    ``correct`` is the observed score of the labels themselves and ``inactive`` that of
    outputs holding only the normal class. Threshold search reuses these for every candidate.
    """

    labels: np.ndarray  # (N, C) bool
    yw: np.ndarray  # (N, C) float64
    correct: float
    inactive: float

    def observed(self, binary_outputs: np.ndarray) -> float:
        o = np.asarray(binary_outputs, dtype=bool)
        union = np.maximum(np.count_nonzero(self.labels | o, axis=1), 1)
        return float(np.sum(np.einsum("ij,ij->i", self.yw, o.astype(np.float64)) / union))

    def normalise(self, observed: float) -> float:
        # The official code returns 0 when the always-correct and always-normal scores coincide.
        if self.correct == self.inactive:
            return 0.0
        return (observed - self.inactive) / (self.correct - self.inactive)


def challenge_terms(
    labels: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    classes: Sequence[str] | None = None,
    normal_class: str | None = None,
    edition: int | str | Edition = 2020,
) -> ChallengeTerms:
    """:class:`ChallengeTerms` of ``labels``; arguments as in :func:`challenge_score`."""
    y = _as_binary(labels, "labels")
    ed = _edition(edition)
    classes = ed.codes if classes is None else tuple(classes)
    normal_class = ed.normal_class if normal_class is None else normal_class
    if weights is None:
        if classes != ed.codes:
            raise ValueError(
                f"default weights are for the {ed.year} classes "
                f"({'SCORED_CLASSES' if ed.year == 2020 else 'edition(2021).codes'}); "
                "pass weights for other classes"
            )
        w = ed.weights
    else:
        w = np.asarray(weights, dtype=np.float64)
    n_classes = y.shape[1]
    if w.shape != (n_classes, n_classes) or len(classes) != n_classes:
        raise ValueError(
            f"{n_classes} columns, {len(classes)} classes and weights of shape {w.shape} disagree"
        )
    w = np.where(np.isnan(w), 0.0, w)  # nansum(weights * A) ignores NaN weights
    k = list(classes).index(normal_class)
    # sum(W * A) = sum_i (y_i @ W) . o_i / max(1, |y_i OR o_i|): one (N,C)x(C,C) product
    # serves the observed, always-correct and always-normal ("inactive") outputs alike.
    yf = y.astype(np.float64)
    yw = yf @ w
    n_labels = np.count_nonzero(y, axis=1)
    correct = np.sum(np.einsum("ij,ij->i", yw, yf) / np.maximum(n_labels, 1))
    # inactive outputs = {normal}: the union adds the normal class when it is not a label
    inactive = np.sum(yw[:, k] / np.maximum(n_labels + ~y[:, k], 1))
    return ChallengeTerms(y, yw, float(correct), float(inactive))


def challenge_score(
    labels: np.ndarray,
    binary_outputs: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    classes: Sequence[str] | None = None,
    normal_class: str | None = None,
    edition: int | str | Edition = 2020,
) -> float:
    """The Challenge metric, ``(observed - inactive) / (correct - inactive)``.

    Each score is ``nansum(weights * A)`` with ``A[j, k] = sum_i y_ij o_ik / max(1, |y_i OR
    o_i|)``; "correct" outputs equal the labels and "inactive" outputs are the normal class
    only. ``edition`` (2020 or 2021) gives the defaults: ``weights`` its weight matrix
    (``classes`` must then be its classes), ``classes`` its representative codes (only used to
    locate ``normal_class``), ``normal_class`` its normal class (426783006 in both). 0 when the
    correct and inactive scores coincide, as in the official code.
    """
    o = _as_binary(binary_outputs, "binary_outputs")
    _same_shape(labels=np.asarray(labels), binary_outputs=o)
    terms = challenge_terms(
        labels, weights, classes=classes, normal_class=normal_class, edition=edition
    )
    if o.shape[0] == 0:
        return float("nan")
    return terms.normalise(terms.observed(o))


def evaluate(
    labels: np.ndarray,
    scores: np.ndarray,
    binary_outputs: np.ndarray,
    *,
    edition: int | str | Edition = 2020,
) -> dict[str, float]:
    """All scores the edition's official scorer reports, in its order (macro values, floats,
    NaN where undefined): 2020 ``auroc, auprc, accuracy, f_measure, fbeta, gbeta,
    challenge_score``; 2021 the same without ``fbeta`` and ``gbeta``."""
    ed = _edition(edition)
    auroc, auprc, _, _ = auroc_auprc(labels, scores)
    results = {
        "auroc": auroc,
        "auprc": auprc,
        "accuracy": accuracy(labels, binary_outputs),
        "f_measure": f_measure(labels, binary_outputs)[0],
    }
    if "fbeta" in ed.scores:
        results["fbeta"], results["gbeta"] = fbeta_gbeta(labels, binary_outputs, beta=2)
    results["challenge_score"] = challenge_score(labels, binary_outputs, edition=ed)
    return {key: results[key] for key in ed.scores}
