"""Property tests: every function of :mod:`ecgtricks.scoring.metrics` against a slow loop version.

The loop versions below are written from the definitions of the official 2020 scorer
(physionetchallenges/evaluation-2020, ``evaluate_12ECG_score.py``): one recording and one class
at a time, thresholds walked from the highest score down, ``nanmean`` over the classes. They
share no code with the vectorised module, nor with the seeded oracle of ``test_metrics.py``;
here hypothesis generates the arrays, edge cases included: a single recording, classes that are
never (or always) positive, all-negative outputs, tied scores and scores of exactly 0 and 1.

Where the official code has no value the loop versions follow the module's documented choice:
a recording without labels adds ``1 / max(1, #labels)`` to the F-beta/G-beta counts (the
official code divides by zero there), and NaN scores count as 0 (the official loader zeroes
them before scoring).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecgtricks.scoring import metrics
from ecgtricks.scoring.labels import weight_matrix
from ecgtricks.scoring.metrics import NORMAL_CLASS, SCORED_CLASSES

TOL = 1e-10
# No example database: nothing is written into the checkout, and each run starts afresh.
PROPERTY = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# The official list: the first code of each group represents it.
OFFICIAL_GROUPS = (("713427006", "59118001"), ("284470004", "63593006"), ("427172004", "17338001"))


# --------------------------------------------------------------------------- loop versions


def nanmean(values: list[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else float("nan")


def loop_accuracy(y: np.ndarray, o: np.ndarray) -> float:
    n, c = y.shape
    exact = 0
    for i in range(n):
        if all(bool(y[i, k]) == bool(o[i, k]) for k in range(c)):
            exact += 1
    return exact / n


def loop_confusion(y: np.ndarray, o: np.ndarray, normalise: bool) -> list[list[float]]:
    """Per class ``[tp, fp, fn, tn]``; with ``normalise`` each recording adds 1/#labels."""
    n, c = y.shape
    table = [[0.0, 0.0, 0.0, 0.0] for _ in range(c)]
    for i in range(n):
        step = 1.0
        if normalise:
            step = 1.0 / max(1, sum(1 for k in range(c) if y[i, k]))
        for k in range(c):
            cell = {(True, True): 0, (False, True): 1, (True, False): 2, (False, False): 3}
            table[k][cell[(bool(y[i, k]), bool(o[i, k]))]] += step
    return table


def loop_f_measure(y: np.ndarray, o: np.ndarray) -> tuple[float, list[float]]:
    per_class = []
    for tp, fp, fn, _ in loop_confusion(y, o, normalise=False):
        den = 2 * tp + fp + fn
        per_class.append(2 * tp / den if den else float("nan"))
    return nanmean(per_class), per_class


def loop_fbeta_gbeta(y: np.ndarray, o: np.ndarray, beta: float) -> tuple[float, float]:
    f_values, g_values = [], []
    for tp, fp, fn, _ in loop_confusion(y, o, normalise=True):
        den = (1 + beta**2) * tp + fp + beta**2 * fn
        f_values.append((1 + beta**2) * tp / den if den else float("nan"))
        den = tp + fp + beta * fn  # beta, not beta**2, as in the official code
        g_values.append(tp / den if den else float("nan"))
    return nanmean(f_values), nanmean(g_values)


def loop_auc(y: np.ndarray, s: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-class AUROC/AUPRC from the confusion matrix at every distinct score."""
    n, c = y.shape
    aurocs, auprcs = [], []
    for k in range(c):
        scores = [0.0 if math.isnan(float(s[i, k])) else float(s[i, k]) for i in range(n)]
        positives = sum(1 for i in range(n) if y[i, k])
        negatives = n - positives
        distinct = sorted(set(scores), reverse=True)
        thresholds = [distinct[0] + 1.0, *distinct]  # the first one: nothing called positive
        tpr, tnr, ppv = [], [], []
        for t in thresholds:
            tp = sum(1 for i in range(n) if scores[i] >= t and y[i, k])
            fp = sum(1 for i in range(n) if scores[i] >= t and not y[i, k])
            tpr.append(tp / positives if positives else float("nan"))
            tnr.append((negatives - fp) / negatives if negatives else float("nan"))
            ppv.append(tp / (tp + fp) if tp + fp else float("nan"))
        auroc = auprc = 0.0
        for j in range(len(thresholds) - 1):
            auroc += 0.5 * (tpr[j + 1] - tpr[j]) * (tnr[j + 1] + tnr[j])
            auprc += (tpr[j + 1] - tpr[j]) * ppv[j + 1]
        aurocs.append(auroc)
        auprcs.append(auprc)
    return aurocs, auprcs


def loop_modified_confusion(y: np.ndarray, o: np.ndarray) -> list[list[float]]:
    n, c = y.shape
    a = [[0.0] * c for _ in range(c)]
    for i in range(n):
        union = sum(1 for k in range(c) if y[i, k] or o[i, k])
        for j in range(c):
            if not y[i, j]:
                continue
            for k in range(c):
                if o[i, k]:
                    a[j][k] += 1.0 / max(1, union)
    return a


def loop_challenge(y: np.ndarray, o: np.ndarray, w: np.ndarray, normal: int) -> float:
    def weighted(outputs: np.ndarray) -> float:
        a = loop_modified_confusion(y, outputs)
        total = 0.0
        for j, row in enumerate(a):
            for k, value in enumerate(row):
                product = float(w[j, k]) * value
                if not math.isnan(product):  # nansum
                    total += product
        return total

    inactive = np.zeros(y.shape, dtype=bool)
    inactive[:, normal] = True
    observed, correct, baseline = weighted(o), weighted(y), weighted(inactive)
    if correct == baseline:
        return 0.0  # as the official code
    return (observed - baseline) / (correct - baseline)


# --------------------------------------------------------------------------- strategies

# Few distinct values make ties likely; 0.0 and 1.0 are always among the candidates.
SCORE_VALUES = st.one_of(
    st.sampled_from([0.0, 1.0, 0.5, 0.25]),
    st.floats(0.0, 1.0, allow_nan=False),
    st.just(float("nan")),
)


@st.composite
def cases(
    draw: st.DrawFn, n_classes: int | None = None, max_n: int = 25
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels bool, scores float, binary outputs bool), all (N, C)."""
    n = draw(st.integers(1, max_n))
    c = n_classes if n_classes is not None else draw(st.integers(1, 6))
    density = draw(st.sampled_from([0.0, 0.1, 0.3, 0.6, 1.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    y = rng.random((n, c)) < density
    if draw(st.booleans()):  # a class without positives
        y[:, draw(st.integers(0, c - 1))] = False
    if draw(st.booleans()):  # a class without negatives
        y[:, draw(st.integers(0, c - 1))] = True
    style = draw(st.sampled_from(["free", "ties", "extremes", "constant"]))
    if style == "free":
        s = rng.random((n, c))
    elif style == "ties":
        s = np.round(rng.random((n, c)) * 4) / 4
    elif style == "extremes":
        s = (rng.random((n, c)) < 0.5).astype(np.float64)  # only 0 and 1
    else:
        s = np.full((n, c), draw(SCORE_VALUES))
    # a few hand-drawn cells (NaN, exact 0/1 among others)
    for _ in range(draw(st.integers(0, 3))):
        s[draw(st.integers(0, n - 1)), draw(st.integers(0, c - 1))] = draw(SCORE_VALUES)
    out_style = draw(st.sampled_from(["threshold", "negative", "labels", "random"]))
    if out_style == "threshold":
        o = np.nan_to_num(s) >= draw(st.sampled_from([0.0, 0.5, 1.0]))
    elif out_style == "negative":
        o = np.zeros((n, c), dtype=bool)
    elif out_style == "labels":
        o = y.copy()
    else:
        o = rng.random((n, c)) < density
    return y, s, o


def same(got: float, expected: float) -> bool:
    if math.isnan(expected):
        return math.isnan(got)
    return abs(got - expected) <= TOL


def assert_same_arrays(got: np.ndarray, expected: list[float] | np.ndarray) -> None:
    expected = np.asarray(expected, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL, equal_nan=True)


def as_dtype(a: np.ndarray, which: str) -> np.ndarray:
    return {"bool": a, "int": a.astype(np.int64), "float": a.astype(np.float64)}[which]


DTYPES = st.sampled_from(["bool", "int", "float"])


# --------------------------------------------------------------------------- metrics


@PROPERTY
@given(cases(), DTYPES)
def test_accuracy_and_f_measure(case: tuple[np.ndarray, ...], dtype: str) -> None:
    y, _, o = case
    yd, od = as_dtype(y, dtype), as_dtype(o, dtype)
    assert same(metrics.accuracy(yd, od), loop_accuracy(y, o))
    macro, per_class = metrics.f_measure(yd, od)
    expected_macro, expected_per_class = loop_f_measure(y, o)
    assert_same_arrays(per_class, expected_per_class)
    assert same(macro, expected_macro)


@PROPERTY
@given(cases(), st.sampled_from([2.0, 1.0, 0.5, 3.0]), DTYPES)
def test_fbeta_gbeta(case: tuple[np.ndarray, ...], beta: float, dtype: str) -> None:
    y, _, o = case
    got = metrics.fbeta_gbeta(as_dtype(y, dtype), as_dtype(o, dtype), beta=beta)
    expected = loop_fbeta_gbeta(y, o, beta)
    assert same(got[0], expected[0]) and same(got[1], expected[1]), (got, expected)


@PROPERTY
@given(cases(max_n=30))
def test_auroc_auprc(case: tuple[np.ndarray, ...]) -> None:
    y, s, _ = case
    macro_roc, macro_prc, per_roc, per_prc = metrics.auroc_auprc(y, s)
    roc, prc = loop_auc(y, s)
    assert_same_arrays(per_roc, roc)
    assert_same_arrays(per_prc, prc)
    assert same(macro_roc, nanmean(roc)) and same(macro_prc, nanmean(prc))
    for k in range(y.shape[1]):  # the official NaN pattern
        assert math.isnan(per_prc[k]) == (not y[:, k].any())
        assert math.isnan(per_roc[k]) == (not y[:, k].any() or y[:, k].all())


@st.composite
def weighted_cases(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Small class sets with their own weights: unit diagonal (the official loader sets it),
    off-diagonal weights in [0, 1], some of them NaN (ignored like ``nansum``)."""
    y, _, o = draw(cases())
    c = y.shape[1]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = np.round(rng.random((c, c)) * 8) / 8 if draw(st.booleans()) else rng.random((c, c))
    w[rng.random((c, c)) < 0.1] = np.nan
    np.fill_diagonal(w, 1.0)
    return y, o, w, draw(st.integers(0, c - 1))


@PROPERTY
@given(weighted_cases(), DTYPES)
def test_challenge_score_own_weights(
    case: tuple[np.ndarray, np.ndarray, np.ndarray, int], dtype: str
) -> None:
    y, o, w, normal = case
    classes = [f"c{k}" for k in range(y.shape[1])]
    got = metrics.challenge_score(
        as_dtype(y, dtype), as_dtype(o, dtype), w, classes=classes, normal_class=classes[normal]
    )
    assert same(got, loop_challenge(y, o, w, normal)), got
    terms = metrics.challenge_terms(y, w, classes=classes, normal_class=classes[normal])
    expected = sum(
        w[j, k] * v for j, row in enumerate(loop_modified_confusion(y, o)) for k, v in enumerate(row)
        if not math.isnan(w[j, k] * v)
    )
    assert same(terms.observed(o), expected)


@settings(PROPERTY, max_examples=60)
@given(cases(n_classes=len(SCORED_CLASSES), max_n=12))
def test_evaluate_with_the_challenge_weights(case: tuple[np.ndarray, ...]) -> None:
    y, s, o = case
    w = weight_matrix()
    normal = SCORED_CLASSES.index(NORMAL_CLASS)
    roc, prc = loop_auc(y, s)
    fbeta, gbeta = loop_fbeta_gbeta(y, o, 2.0)
    expected = {
        "auroc": nanmean(roc),
        "auprc": nanmean(prc),
        "accuracy": loop_accuracy(y, o),
        "f_measure": loop_f_measure(y, o)[0],
        "fbeta": fbeta,
        "gbeta": gbeta,
        "challenge_score": loop_challenge(y, o, w, normal),
    }
    got = metrics.evaluate(y, s, o)
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert isinstance(got[key], float)
        assert same(got[key], value), (key, got[key], value)
    assert same(metrics.challenge_score(y, o), expected["challenge_score"])


@PROPERTY
@given(cases(), st.integers(0, 2**32 - 1))
def test_recording_order_is_irrelevant(case: tuple[np.ndarray, ...], seed: int) -> None:
    y, s, o = case
    p = np.random.default_rng(seed).permutation(len(y))
    classes = [f"c{k}" for k in range(y.shape[1])]
    w = np.eye(len(classes)) * 0.5 + 0.25

    def scores(y: np.ndarray, s: np.ndarray, o: np.ndarray) -> list[float]:
        return [
            *metrics.auroc_auprc(y, s)[:2],
            *metrics.fbeta_gbeta(y, o),
            metrics.accuracy(y, o),
            metrics.f_measure(y, o)[0],
            metrics.challenge_score(y, o, w, classes=classes, normal_class=classes[-1]),
        ]

    for a, b in zip(scores(y, s, o), scores(y[p], s[p], o[p]), strict=True):
        assert same(b, a)
