"""Scores of the PhysioNet/CinC Challenge 2020, vectorised over recordings.

The definitions follow ``evaluate_12ECG_score.py`` of physionetchallenges/evaluation-2020:
macro AUROC/AUPRC from the confusion matrices at every distinct output value, recording-wise
accuracy, macro F-measure, the F-beta/G-beta measures of the unofficial phase (contributions
normalised by each recording's number of labels) and the Challenge metric (a weighted
multi-label confusion matrix normalised between an always-correct and an always-normal model).
Per-class values that the official code leaves undefined are NaN and dropped by ``nanmean``.

Inputs are ``(N, C)`` arrays whose columns follow :data:`SCORED_CLASSES` (24 classes); labels
and binary outputs may be bool, int or float 0/1. Use :func:`merge_equivalent` first for arrays
laid out over the 27 codes, as the official loaders merge equivalent codes before scoring.

Two places where the official code has no defined value:

* :func:`fbeta_gbeta` -- a recording without any positive label makes the official code divide
  by zero; here its contributions are normalised by ``max(1, #labels)``, the guard the
  official Challenge metric uses for the same situation.
* Empty inputs (N = 0) give NaN rather than an exception.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ecgtricks.labels import EQUIVALENT_CODES, NORMAL_CLASS, SCORED_CLASSES, weight_matrix

__all__ = [
    "NORMAL_CLASS",
    "SCORED_CLASSES",
    "accuracy",
    "apply_normal_rule",
    "auroc_auprc",
    "challenge_score",
    "evaluate",
    "f_measure",
    "fbeta_gbeta",
    "merge_equivalent",
    "modified_confusion_matrix",
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


# --------------------------------------------------------------------------- equivalent codes


def merge_equivalent(
    codes: Sequence[str], array: np.ndarray, *, kind: Literal["binary", "scores"]
) -> tuple[tuple[str, ...], np.ndarray]:
    """Merge the columns of equivalent codes into their representative (last axis = codes).

    As the official loaders do: binary outputs/labels are combined with a logical OR, scores
    with ``nanmean``; the merged column takes the representative's position (or that of the
    first member present) and the other members' columns are dropped. Unlike the official
    code, a lone non-representative code is renamed to its representative, so that a 27-code
    array always comes out in :data:`SCORED_CLASSES` order. Other codes pass through unchanged.
    """
    codes = tuple(str(c) for c in codes)
    if len(set(codes)) != len(codes):
        raise ValueError("duplicate codes")
    if kind == "binary":
        merged = np.array(_binary_values(np.asarray(array), "array"), copy=True)
    elif kind == "scores":
        merged = np.array(array, dtype=np.float64, copy=True)
    else:
        raise ValueError(f"kind must be 'binary' or 'scores', got {kind!r}")
    if merged.ndim == 0 or merged.shape[-1] != len(codes):
        raise ValueError(f"array of shape {merged.shape} does not have {len(codes)} code columns")

    out_codes = list(codes)
    drop: list[int] = []
    for rep in sorted(set(EQUIVALENT_CODES.values())):  # three groups
        members = [i for i, c in enumerate(codes) if EQUIVALENT_CODES.get(c, c) == rep]
        if not members:
            continue
        target = codes.index(rep) if rep in codes else members[0]
        block = merged[..., members]
        if kind == "binary":
            merged[..., target] = block.any(axis=-1)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
                merged[..., target] = np.nanmean(block, axis=-1)
        out_codes[target] = rep
        drop += [i for i in members if i != target]
    keep = np.setdiff1d(np.arange(len(codes)), drop)
    return tuple(out_codes[i] for i in keep), merged[..., keep]


def apply_normal_rule(
    binary: np.ndarray, *, classes: Sequence[str] = SCORED_CLASSES, normal_class: str = NORMAL_CLASS
) -> np.ndarray:
    """The official loaders' clean-up of label/output rows (opt-in, returns a new bool array).

    A row with no positive class gets the normal class; a row with the normal class and any
    other positive class loses the normal class. (The official code applies this over all
    classes present in the files, before unscored classes are dropped.)
    """
    b = np.array(_as_binary(binary, "binary"), copy=True)
    k = list(classes).index(normal_class)
    n_pos = b.sum(axis=1)
    b[n_pos == 0, k] = True
    b[(n_pos > 1) & b[:, k], k] = False
    return b


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

    Each recording adds ``1 / #labels`` (``max(1, #labels)``, see the module note) to its
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


def modified_confusion_matrix(labels: np.ndarray, binary_outputs: np.ndarray) -> np.ndarray:
    """``A[j, k] = sum_i labels[i, j] * outputs[i, k] / max(1, |labels_i OR outputs_i|)``."""
    y, o = _as_binary(labels, "labels"), _as_binary(binary_outputs, "binary_outputs")
    _same_shape(labels=y, binary_outputs=o)
    norm = np.maximum(np.count_nonzero(y | o, axis=1), 1).astype(np.float64)
    return (y / norm[:, None]).T @ o.astype(np.float64)


def challenge_score(
    labels: np.ndarray,
    binary_outputs: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    classes: Sequence[str] = SCORED_CLASSES,
    normal_class: str = NORMAL_CLASS,
) -> float:
    """The 2020 Challenge metric, ``(observed - inactive) / (correct - inactive)``.

    Each score is ``nansum(weights * A)`` with ``A`` the :func:`modified_confusion_matrix`;
    "correct" outputs equal the labels and "inactive" outputs are the normal class only.
    ``weights`` defaults to :func:`ecgtricks.labels.weight_matrix` (``classes`` must then be
    :data:`SCORED_CLASSES`); ``classes`` only serves to locate ``normal_class``. NaN when the
    correct and inactive scores coincide, as in the official code.
    """
    y, o = _as_binary(labels, "labels"), _as_binary(binary_outputs, "binary_outputs")
    _same_shape(labels=y, binary_outputs=o)
    if weights is None:
        if tuple(classes) != SCORED_CLASSES:
            raise ValueError(
                "default weights are for SCORED_CLASSES; pass weights for other classes"
            )
        w = weight_matrix()
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
    n_union = np.count_nonzero(y | o, axis=1)
    observed = np.sum(np.einsum("ij,ij->i", yw, o.astype(np.float64)) / np.maximum(n_union, 1))
    correct = np.sum(np.einsum("ij,ij->i", yw, yf) / np.maximum(n_labels, 1))
    # inactive outputs = {normal}: the union adds the normal class when it is not a label
    baseline = np.sum(yw[:, k] / np.maximum(n_labels + ~y[:, k], 1))
    observed, correct, baseline = float(observed), float(correct), float(baseline)
    if correct == baseline:
        return float("nan")
    return (observed - baseline) / (correct - baseline)


def evaluate(
    labels: np.ndarray, scores: np.ndarray, binary_outputs: np.ndarray
) -> dict[str, float]:
    """All official scores: keys ``auroc, auprc, accuracy, f_measure, fbeta, gbeta,
    challenge_score`` (macro values, floats, NaN where undefined)."""
    auroc, auprc, _, _ = auroc_auprc(labels, scores)
    fbeta, gbeta = fbeta_gbeta(labels, binary_outputs, beta=2)
    return {
        "auroc": auroc,
        "auprc": auprc,
        "accuracy": accuracy(labels, binary_outputs),
        "f_measure": f_measure(labels, binary_outputs)[0],
        "fbeta": fbeta,
        "gbeta": gbeta,
        "challenge_score": challenge_score(labels, binary_outputs),
    }
