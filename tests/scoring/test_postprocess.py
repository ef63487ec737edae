"""Threshold tuning and ensemble helpers, checked against ``metrics.challenge_score``."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ecgtricks.scoring import postprocess as pp
from ecgtricks.scoring.labels import NORMAL_CLASS, SCORED_CLASSES
from ecgtricks.scoring.metrics import challenge_score

C = len(SCORED_CLASSES)
NORMAL = SCORED_CLASSES.index(NORMAL_CLASS)


def random_problem(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Labels with per-class prevalences from ~0 to 0.5 and informative but noisy scores."""
    rng = np.random.default_rng(seed)
    prevalence = rng.choice([0.0, 0.003, 0.02, 0.1, 0.3, 0.5], size=C)
    y = rng.random((n, C)) < prevalence
    signal = rng.uniform(0.0, 0.6, size=C)  # per-class separability, some barely informative
    p = np.clip(y * signal + rng.random((n, C)) * (1 - signal) + rng.normal(0, 0.05, (n, C)), 0, 1)
    if seed % 4 == 0:
        p = np.round(p, 2)  # many ties
    return y, p


def score(y: np.ndarray, p: np.ndarray, t: np.ndarray | float) -> float:
    return challenge_score(y, p >= t)


# --------------------------------------------------------------------------- tuning


@pytest.mark.parametrize("candidates", ["grid", "distinct"])
def test_never_worse_than_start_and_score_matches_metric(candidates: str) -> None:
    gains = []
    for seed in range(20):
        y, p = random_problem(seed, n=120 + 20 * seed)
        result = pp.threshold_search(y, p, candidates=candidates)
        base = score(y, p, 0.5)
        tuned = score(y, p, result.thresholds)
        assert result.start_score == pytest.approx(base, abs=1e-12)
        assert result.score == pytest.approx(tuned, abs=1e-12)  # incremental == official
        assert tuned >= base, (seed, tuned, base)
        gains.append(tuned - base)
        assert result.thresholds.shape == (C,)
    assert max(gains) > 0.01  # tuning does something on noisy data


def test_constructed_case_finds_threshold_0_3() -> None:
    rng = np.random.default_rng(1)
    n = 200
    y = np.zeros((n, C), dtype=bool)
    y[np.arange(n), rng.integers(0, C, n)] = True
    p = np.where(y, 0.9, 0.1)  # every class perfectly separated at 0.5 ...
    c = SCORED_CLASSES.index("164889003")  # ... except AF, scored between 0.295 and 0.3
    p[:, c] = np.where(y[:, c], rng.uniform(0.30, 0.45, n), rng.uniform(0.0, 0.295, n))
    p[np.flatnonzero(y[:, c])[0], c] = 0.30
    assert score(y, p, 0.5) < 1.0

    grid = pp.threshold_search(y, p, candidates="grid")
    assert grid.thresholds[c] == pytest.approx(0.30)
    assert np.all(np.delete(grid.thresholds, c) == 0.5)  # nothing to gain elsewhere
    assert grid.score == pytest.approx(1.0) and grid.score > grid.start_score

    distinct = pp.tune_thresholds(y, p, candidates="distinct")
    below = p[~y[:, c], c].max()
    assert distinct[c] == pytest.approx((below + 0.30) / 2)  # the midpoint of the gap
    assert score(y, p, distinct) == pytest.approx(1.0)


def single_class_problem(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Only class ``c`` has scores strictly between 0 and 1: no other threshold matters."""
    rng = np.random.default_rng(seed)
    n = 80
    y = rng.random((n, C)) < 0.15
    p = rng.integers(0, 2, (n, C)).astype(float)  # 0/1: same outputs for every grid threshold
    c = int(rng.integers(0, C))
    p[:, c] = np.clip(0.3 * y[:, c] + 0.7 * rng.random(n), 0, 1)
    return y, p, c


@pytest.mark.parametrize("seed", range(5))
def test_equals_brute_force_single_class_search(seed: int) -> None:
    y, p, c = single_class_problem(seed)

    def with_class(t: float) -> float:
        thresholds = np.full(C, 0.5)
        thresholds[c] = t
        return score(y, p, thresholds)

    start = with_class(0.5)
    grid_scores = np.array([with_class(t) for t in pp.GRID])
    best = int(np.argmax(grid_scores))
    expected = pp.GRID[best] if grid_scores[best] > start + 1e-12 else 0.5
    tuned = pp.threshold_search(y, p, candidates="grid")
    assert tuned.thresholds[c] == pytest.approx(expected)
    assert np.all(np.delete(tuned.thresholds, c) == 0.5)
    assert tuned.score == pytest.approx(max(start, grid_scores.max()), abs=1e-12)


def test_converged_thresholds_are_coordinatewise_optimal() -> None:
    """No single-class change to any candidate beats the result (brute force over all)."""
    y, p = random_problem(7, n=150)
    for candidates in ("grid", "distinct"):
        result = pp.threshold_search(y, p, candidates=candidates, max_sweeps=50)
        assert result.sweeps < 50  # converged: the last sweep found nothing
        for c in range(C):
            # grid: its 99 values; distinct: every achievable split of class c
            values = pp.GRID if candidates == "grid" else np.append(np.unique(p[:, c]), np.inf)
            trial = np.tile(result.thresholds, (values.size, 1))
            trial[:, c] = values
            best = max(score(y, p, t) for t in trial)
            assert best <= result.score + 1e-12, (candidates, c)
    # For the record only: both are local searches, neither is guaranteed to win.
    grid = pp.threshold_search(y, p, candidates="grid", max_sweeps=50)
    distinct = pp.threshold_search(y, p, candidates="distinct", max_sweeps=50)
    print(f"grid {grid.score:.4f}, distinct {distinct.score:.4f} (start {grid.start_score:.4f})")


def test_candidate_sets() -> None:
    y, p = random_problem(3)
    grid = pp.tune_thresholds(y, p)
    assert np.all(np.isin(grid, np.append(pp.GRID, 0.5)))
    explicit = pp.tune_thresholds(y, p, candidates=np.array([0.4, 0.2]))
    assert np.all(np.isin(explicit, [0.2, 0.4, 0.5]))
    distinct = pp.tune_thresholds(y, p, candidates="distinct")
    for c in range(C):
        values = np.unique(p[:, c])
        allowed = np.concatenate(
            ([0.5, values[0], np.nextafter(values[-1], np.inf)], (values[:-1] + values[1:]) / 2)
        )
        assert np.isclose(distinct[c], allowed, rtol=0, atol=1e-15).any()
    with pytest.raises(ValueError, match="candidates"):
        pp.tune_thresholds(y, p, candidates="everything")


def test_start_sweeps_and_degenerate_inputs() -> None:
    y, p = random_problem(5)
    assert np.all(pp.tune_thresholds(y, p, max_sweeps=0) == 0.5)
    start = np.linspace(0.2, 0.8, C)
    result = pp.threshold_search(y, p, start=start)
    assert result.start_score == pytest.approx(score(y, p, start), abs=1e-12)
    assert result.score >= result.start_score
    # Only normal labels: the metric is degenerate (correct == inactive; 0 officially), nothing to tune.
    y_normal = np.zeros_like(y)
    y_normal[:, NORMAL] = True
    degenerate = pp.threshold_search(y_normal, p)
    assert degenerate.score == 0.0 and np.all(degenerate.thresholds == 0.5) and degenerate.sweeps == 0
    # NaN scores are never positive.
    p_nan = p.copy()
    p_nan[::3] = np.nan
    t = pp.tune_thresholds(y, p_nan, candidates="distinct")
    assert score(y, np.nan_to_num(p_nan, nan=-1.0), t) >= score(
        y, np.nan_to_num(p_nan, nan=-1), 0.5
    )
    with pytest.raises(ValueError, match="shape"):
        pp.tune_thresholds(y, p[:, :5])


def test_timing_40000_recordings() -> None:
    y, p = random_problem(11, n=40_000)
    for candidates in ("grid", "distinct"):
        started = time.perf_counter()
        result = pp.threshold_search(y, p, candidates=candidates)
        seconds = time.perf_counter() - started
        print(
            f"tune_thresholds 40000x24 ({candidates}): {seconds:.2f} s, {result.sweeps} sweeps, "
            f"score {result.start_score:.4f} -> {result.score:.4f}"
        )
        assert result.score >= result.start_score


# --------------------------------------------------------------------------- applying, ensembles


def test_apply_thresholds() -> None:
    p = np.array([[0.2, 0.5, np.nan], [0.7, 0.49, 1.0]])
    out = pp.apply_thresholds(p, np.array([0.3, 0.5, 0.5]))
    assert out.dtype == bool
    assert out.tolist() == [[False, True, False], [True, False, True]]
    with pytest.raises(ValueError):
        pp.apply_thresholds(p, np.array([0.5, 0.5]))


def test_average_probabilities() -> None:
    a, b = np.full((3, C), 0.2), np.full((3, C), 0.6)
    assert np.allclose(pp.average_probabilities([a, b]), 0.4)
    assert np.allclose(pp.average_probabilities([a]), a)
    with pytest.raises(ValueError):
        pp.average_probabilities([])
    with pytest.raises(ValueError, match="shape"):
        pp.average_probabilities([a, b[:2]])


def test_combine_thresholds() -> None:
    y, p = random_problem(9, n=400)
    folds = np.arange(len(y)) % 4
    per_fold = np.stack([pp.tune_thresholds(y[folds == k], p[folds == k]) for k in range(4)])
    mean = pp.combine_thresholds(per_fold)
    assert np.allclose(mean, per_fold.mean(axis=0))
    retuned = pp.combine_thresholds(per_fold, method="retune", oof_labels=y, oof_probabilities=p)
    assert score(y, p, retuned) >= score(y, p, mean)
    with pytest.raises(ValueError, match="oof"):
        pp.combine_thresholds(per_fold, method="retune")
    with pytest.raises(ValueError, match="method"):
        pp.combine_thresholds(per_fold, method="median")  # type: ignore[arg-type]
