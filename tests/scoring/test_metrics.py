"""Challenge 2020 metrics against hand-computed values and a loop-based oracle.

The oracle functions below transcribe the definitions of the official scorer
(physionetchallenges/evaluation-2020, evaluate_12ECG_score.py) recording by recording and
threshold by threshold, so the vectorised versions are checked against an independent, slow
path on random data.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgtricks.scoring import metrics
from ecgtricks.scoring.labels import ABBREVIATIONS, weight_matrix
from ecgtricks.scoring.metrics import NORMAL_CLASS, SCORED_CLASSES

COL = {ABBREVIATIONS[c]: i for i, c in enumerate(SCORED_CLASSES)}
NORMAL = SCORED_CLASSES.index(NORMAL_CLASS)


# --------------------------------------------------------------------------- slow oracle


def oracle_accuracy(y: np.ndarray, o: np.ndarray) -> float:
    hits = 0
    for i in range(len(y)):
        hits += all(bool(y[i, j]) == bool(o[i, j]) for j in range(y.shape[1]))
    return hits / len(y)


def oracle_counts(y: np.ndarray, o: np.ndarray, per_recording_norm: bool) -> np.ndarray:
    """counts[k] = (tp, fp, fn, tn); optionally each recording adds 1/max(1, #labels)."""
    counts = np.zeros((y.shape[1], 4))
    for i in range(len(y)):
        add = 1.0 / max(1.0, float(sum(y[i]))) if per_recording_norm else 1.0
        for k in range(y.shape[1]):
            if y[i, k] and o[i, k]:
                counts[k, 0] += add
            elif o[i, k]:
                counts[k, 1] += add
            elif y[i, k]:
                counts[k, 2] += add
            else:
                counts[k, 3] += add
    return counts


def oracle_f_measure(y: np.ndarray, o: np.ndarray) -> tuple[float, np.ndarray]:
    f = []
    for tp, fp, fn, _ in oracle_counts(y, o, False):
        f.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else float("nan"))
    f = np.array(f)
    return (float(np.nanmean(f)) if not np.isnan(f).all() else float("nan")), f


def oracle_beta(y: np.ndarray, o: np.ndarray, beta: float) -> tuple[float, float]:
    fs, gs = [], []
    for tp, fp, fn, _ in oracle_counts(y, o, True):
        d = (1 + beta**2) * tp + fp + beta**2 * fn
        fs.append((1 + beta**2) * tp / d if d else float("nan"))
        d = tp + fp + beta * fn
        gs.append(tp / d if d else float("nan"))
    return float(np.nanmean(fs)), float(np.nanmean(gs))


def oracle_auc(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, c = y.shape
    auroc, auprc = np.zeros(c), np.zeros(c)
    for k in range(c):
        thr = sorted(set(s[:, k].tolist()), reverse=True)
        thr = [thr[0] + 1] + thr
        order = sorted(range(n), key=lambda i: -s[i, k])
        tp, fp = [0.0], [0.0]
        pos = float(sum(y[:, k]))
        neg = n - pos
        i = 0
        for t in thr[1:]:
            tp.append(tp[-1])
            fp.append(fp[-1])
            while i < n and s[order[i], k] >= t:
                if y[order[i], k]:
                    tp[-1] += 1
                else:
                    fp[-1] += 1
                i += 1
        tpr = [a / pos if pos else float("nan") for a in tp]
        tnr = [(neg - b) / neg if neg else float("nan") for b in fp]
        ppv = [a / (a + b) if a + b else float("nan") for a, b in zip(tp, fp, strict=True)]
        for j in range(len(thr) - 1):
            auroc[k] += 0.5 * (tpr[j + 1] - tpr[j]) * (tnr[j + 1] + tnr[j])
            auprc[k] += (tpr[j + 1] - tpr[j]) * ppv[j + 1]
    return auroc, auprc


def oracle_modified_confusion(y: np.ndarray, o: np.ndarray) -> np.ndarray:
    c = y.shape[1]
    a = np.zeros((c, c))
    for i in range(len(y)):
        norm = max(1.0, float(sum(bool(y[i, j]) or bool(o[i, j]) for j in range(c))))
        for j in range(c):
            if y[i, j]:
                for k in range(c):
                    if o[i, k]:
                        a[j, k] += 1.0 / norm
    return a


def oracle_challenge(y: np.ndarray, o: np.ndarray, w: np.ndarray) -> float:
    inactive = np.zeros_like(y)
    inactive[:, NORMAL] = 1
    observed = np.nansum(w * oracle_modified_confusion(y, o))
    correct = np.nansum(w * oracle_modified_confusion(y, y))
    base = np.nansum(w * oracle_modified_confusion(y, inactive))
    return float((observed - base) / (correct - base)) if correct != base else 0.0


def random_case(seed: int, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse multi-labels (some empty rows, one class never positive, one class always
    positive), tied scores (rounded) and per-class thresholded outputs."""
    rng = np.random.default_rng(seed)
    prevalence = rng.uniform(0.01, 0.3, size=24)
    y = rng.random((n, 24)) < prevalence
    y[:, 7] = False
    if seed % 2:
        y[:, 9] = True
    s = np.round(np.clip(0.35 * y + rng.random((n, 24)) * 0.8, 0, 1), 2)
    o = s >= rng.uniform(0.4, 0.8, size=24)
    return y, s, o


# --------------------------------------------------------------------------- challenge score


def test_perfect_and_normal_only() -> None:
    y, _, _ = random_case(0)
    assert metrics.challenge_score(y, y) == pytest.approx(1.0, abs=1e-12)
    only_normal = np.zeros_like(y)
    only_normal[:, NORMAL] = True
    assert metrics.challenge_score(y, only_normal) == pytest.approx(0.0, abs=1e-12)


def test_hand_computed_challenge_score() -> None:
    # Weights (2020 table): AF-AFL 0.5, IAVB-AF 0.3, AF-NSR 0.25, IAVB-NSR 0.45.
    #   rec 1: labels {AF},       outputs {AFL}       -> union 2
    #   rec 2: labels {IAVB, AF}, outputs {IAVB}      -> union 2
    #   rec 3: labels {NSR},      outputs {NSR, AF}   -> union 2
    # observed = 0.5/2 + (1 + 0.3)/2 + (1 + 0.25)/2            = 0.25 + 0.65 + 0.625 = 1.525
    # correct  = 1 + (1 + 0.3 + 0.3 + 1)/2 + 1                  = 3.3
    # inactive = 0.25/2 + (0.45 + 0.25)/3 + 1 (unions 2, 3, 1)  = 1.125 + 0.7/3 = 163/120
    # score = (1.525 - 163/120) / (3.3 - 163/120) = (20/120) / (233/120) = 20/233
    w = weight_matrix()
    assert (w[COL["AF"], COL["AFL"]], w[COL["IAVB"], COL["AF"]]) == (0.5, 0.3)
    assert (w[COL["AF"], COL["NSR"]], w[COL["IAVB"], COL["NSR"]]) == (0.25, 0.45)
    y = np.zeros((3, 24), dtype=bool)
    o = np.zeros((3, 24), dtype=bool)
    y[0, COL["AF"]] = o[0, COL["AFL"]] = True
    y[1, [COL["IAVB"], COL["AF"]]] = o[1, COL["IAVB"]] = True
    y[2, COL["NSR"]] = o[2, [COL["NSR"], COL["AF"]]] = True
    assert metrics.challenge_score(y, o) == pytest.approx(20 / 233, rel=1e-12, abs=0)
    # int and float 0/1 inputs give the same value
    assert metrics.challenge_score(y.astype(int), o.astype(float)) == metrics.challenge_score(y, o)


def test_challenge_score_degenerate_and_validation() -> None:
    y = np.zeros((4, 24), dtype=bool)
    y[:, NORMAL] = True  # correct == inactive: 0, as the official code returns
    assert metrics.challenge_score(y, y) == 0.0
    with pytest.raises(ValueError):
        metrics.challenge_score(y, np.full((4, 24), 0.7))  # probabilities, not decisions
    with pytest.raises(ValueError):
        metrics.challenge_score(y, y[:, :23])
    w = weight_matrix()
    w[0, 1] = np.nan  # NaN weights are ignored like nansum
    yy, _, oo = random_case(3)
    assert metrics.challenge_score(yy, oo, w) == pytest.approx(
        oracle_challenge(yy, oo, w), abs=1e-12
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_all_metrics_match_oracle(seed: int) -> None:
    y, s, o = random_case(seed)
    w = weight_matrix()
    got = metrics.evaluate(y, s, o)

    auroc, auprc = oracle_auc(y, s)
    _, _, per_auroc, per_auprc = metrics.auroc_auprc(y, s)
    np.testing.assert_allclose(per_auroc, auroc, rtol=0, atol=1e-12)  # NaNs in the same places
    np.testing.assert_allclose(per_auprc, auprc, rtol=0, atol=1e-12)
    assert np.isnan(per_auroc[7]) and np.isnan(per_auprc[7])  # class without positives
    assert np.isnan(per_auroc[9]) == bool(seed % 2)  # class without negatives
    f_macro, f_per = oracle_f_measure(y, o)
    np.testing.assert_allclose(metrics.f_measure(y, o)[1], f_per, rtol=0, atol=1e-12)
    fbeta, gbeta = oracle_beta(y, o, 2)

    expected = {
        "auroc": np.nanmean(auroc),
        "auprc": np.nanmean(auprc),
        "accuracy": oracle_accuracy(y, o),
        "f_measure": f_macro,
        "fbeta": fbeta,
        "gbeta": gbeta,
        "challenge_score": oracle_challenge(y, o, w),
    }
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert isinstance(got[key], float)
        assert got[key] == pytest.approx(value, rel=0, abs=1e-12), key
    # the terms threshold search reuses: observed score = nansum(W * modified confusion matrix)
    terms = metrics.challenge_terms(y)
    assert terms.observed(o) == pytest.approx(np.nansum(w * oracle_modified_confusion(y, o)), abs=1e-9)
    assert terms.correct == pytest.approx(np.nansum(w * oracle_modified_confusion(y, y)), abs=1e-9)
    # other beta
    assert metrics.fbeta_gbeta(y, o, beta=0.5) == pytest.approx(oracle_beta(y, o, 0.5), abs=1e-12)


def test_accuracy_and_f_measure_by_hand() -> None:
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    o = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0]])
    assert metrics.accuracy(y, o) == pytest.approx(1 / 3)
    # class 0: tp 2 fp 1 fn 0 -> 4/5; class 1: tp 1 fn 1 -> 2/3; class 2: no labels/outputs -> NaN
    macro, per = metrics.f_measure(y, o)
    assert per[:2] == pytest.approx([0.8, 2 / 3]) and np.isnan(per[2])
    assert macro == pytest.approx((0.8 + 2 / 3) / 2)


def test_fbeta_gbeta_by_hand() -> None:
    # rec 0 (1 label) adds 1, rec 1 (2 labels) adds 1/2 per cell.
    y = np.array([[1, 0], [1, 1]])
    o = np.array([[1, 1], [0, 1]])
    # class 0: tp 1, fn 1/2; class 1: fp 1, tp 1/2
    f0, f1 = 5 * 1 / (5 * 1 + 4 * 0.5), 5 * 0.5 / (5 * 0.5 + 1)
    g0, g1 = 1 / (1 + 2 * 0.5), 0.5 / (0.5 + 1)
    assert metrics.fbeta_gbeta(y, o, beta=2) == pytest.approx(((f0 + f1) / 2, (g0 + g1) / 2))


# --------------------------------------------------------------------------- AUROC / AUPRC


def test_auroc_auprc_manual_trapezoid() -> None:
    # scores 0.9 0.8 0.8 0.4 0.2, labels 1 1 0 0 1 (P=3, N=2). Thresholds > max, .9, .8, .4, .2:
    # TP 0 1 2 2 3, FP 0 0 1 2 2 -> TPR 0 1/3 2/3 2/3 1, TNR 1 1 1/2 0 0, PPV - 1 2/3 1/2 3/5
    # AUROC = 1/3*(1+1)/2 + 1/3*(1+1/2)/2 + 0 + 1/3*(0+0)/2 = 1/3 + 1/4 = 7/12
    # AUPRC = 1/3*1 + 1/3*2/3 + 0*1/2 + 1/3*3/5 = 34/45
    s = np.array([[0.9], [0.8], [0.8], [0.4], [0.2]])
    y = np.array([[1], [1], [0], [0], [1]])
    auroc, auprc, per_roc, per_prc = metrics.auroc_auprc(y, s)
    assert auroc == pytest.approx(7 / 12, abs=1e-15) and auprc == pytest.approx(34 / 45, abs=1e-15)
    assert per_roc.shape == per_prc.shape == (1,)


@pytest.mark.parametrize("seed", [5, 6])
def test_auroc_equals_pairwise_probability(seed: int) -> None:
    # The trapezoid AUROC equals P(score+ > score-) + P(tie)/2 (Mann-Whitney), an independent
    # formula; rounded scores make ties common.
    y, s, _ = random_case(seed)
    _, _, per, _ = metrics.auroc_auprc(y, s)
    for k in range(24):
        pos, neg = s[y[:, k], k], s[~y[:, k], k]
        if pos.size and neg.size:
            diff = pos[:, None] - neg[None, :]
            assert per[k] == pytest.approx(np.mean((diff > 0) + 0.5 * (diff == 0)), abs=1e-12)


def test_auroc_nan_scores_count_as_zero() -> None:
    y, s, _ = random_case(8)
    s_nan = s.copy()
    s_nan[::7, 3] = np.nan
    s_zero = np.where(np.isnan(s_nan), 0.0, s_nan)
    assert metrics.auroc_auprc(y, s_nan)[:2] == metrics.auroc_auprc(y, s_zero)[:2]


def test_empty_inputs_are_nan() -> None:
    e = np.zeros((0, 24), dtype=bool)
    result = metrics.evaluate(e, e.astype(float), e)
    assert all(np.isnan(v) for v in result.values())
