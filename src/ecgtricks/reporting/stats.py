"""Statistics for comparing a variant A with its reference B under (repeated) k-fold CV.

The unit of comparison is a paired difference ``d = score_A - score_B`` for one (seed, fold) that
both recipes finished. Those differences are not independent: any two training sets of a k-fold
split share (k - 2)/(k - 1) of their records, and seeds re-train on the same folds. A paired
t-test that treats the ``n = r * k`` differences as independent therefore under-states the
variance of their mean and rejects too often. This module gives

* :func:`compare` -- the corrected k-fold t-test (Nadeau & Bengio 2003; Bouckaert & Frank 2004
  for repetitions), which inflates the variance of the mean by ``1/n + rho`` with
  ``rho = n_val / n_train``; the Bayesian correlated t-test (Benavoli, Corani, Demšar & Zaffalon,
  JMLR 2017), whose posterior gives the probabilities that A is worse than, practically
  equivalent to (within the ROPE) or better than B; and the smallest difference the sweep can
  detect;
* :func:`compare_runs` -- the same from the differences of (seed, fold) runs: the seeds of a fold
  are averaged first and the test runs over the k fold means. Bouckaert & Frank's ``n = r * k``
  assumes each repetition draws a new partition; here seeds re-train on the same folds, so a
  fold's r differences share its training and validation records and counting them r times
  over-states the evidence (:func:`simulate_rejection_rates` measures both versions);
* :func:`holm` -- Holm–Bonferroni adjustment over the variants compared with one reference;
* :func:`describe_power` -- that detectable difference as a sentence for the report;
* :func:`simulate_null_rejection_rates` -- a record-level simulation of overlapping training
  sets, which measures how often each test rejects a true null (and, with ``shift``, its power).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
from scipy import stats as sps

VERDICT_LEVEL = 0.95
"""Posterior probability a verdict needs (better / equivalent / worse)."""

DEFAULT_ROPE = 0.01
"""Half-width of the region of practical equivalence, in score units."""

_NAN = float("nan")


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, so a family of variants can be read at one level.

    NaN entries (comparisons without a p-value) stay NaN and do not count in the family size.
    """
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


@dataclass(frozen=True)
class Comparison:
    """Everything the report shows about one variant against its reference.

    ``df`` is a float so that it can be NaN when there are fewer than two pairs.
    """

    n: int
    mean: float
    sd: float
    rho: float
    se_corrected: float
    df: float
    t_corrected: float
    p_corrected: float
    ci_low: float
    ci_high: float
    p_uncorrected: float
    p_worse: float
    p_rope: float
    p_better: float
    rope: float
    verdict: str
    mde: float


def _check_unit_interval(name: str, value: float) -> None:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")


def _check_rho(rho: float) -> None:
    if not (math.isfinite(rho) and rho >= 0.0):
        raise ValueError(f"rho (n_val / n_train) must be finite and >= 0, got {rho!r}")


def _paired_tests(d: np.ndarray, rho: float) -> dict[str, np.ndarray]:
    """Both t-tests over the last axis of ``d`` (one row per data set), vectorised.

    One implementation serves :func:`compare` and the simulation, so the simulation measures the
    very code the report runs. Needs at least two columns. A row whose differences are all equal
    has variance exactly 0 (not a rounding residue); its p-values are 1 when the differences are
    all 0 and 0 otherwise.
    """
    n = d.shape[-1]
    df = n - 1
    mean = d.mean(axis=-1)
    constant = np.ptp(d, axis=-1) == 0
    var = np.where(constant, 0.0, d.var(axis=-1, ddof=1))
    se_corrected = np.sqrt((1.0 / n + rho) * var)
    se_plain = np.sqrt(var / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_corrected = mean / se_corrected
        t_plain = mean / se_plain
    p_corrected = 2.0 * sps.t.sf(np.abs(t_corrected), df)
    p_plain = 2.0 * sps.t.sf(np.abs(t_plain), df)
    degenerate = np.where(mean == 0, 1.0, 0.0)
    p_corrected = np.where(constant, degenerate, p_corrected)
    p_plain = np.where(constant, degenerate, p_plain)
    t_corrected = np.where(constant & (mean == 0), np.nan, t_corrected)
    return {
        "mean": mean,
        "var": var,
        "constant": constant,
        "se_corrected": se_corrected,
        "t_corrected": t_corrected,
        "p_corrected": p_corrected,
        "p_uncorrected": p_plain,
    }


def _grid_tests(d: np.ndarray, rho: float) -> dict[str, np.ndarray]:
    """:func:`grid_standard_error` and the test over arrays of grids ``d`` (..., seeds, folds)."""
    r, k = d.shape[-2], d.shape[-1]
    folds, seeds = d.mean(axis=-2), d.mean(axis=-1)
    v_fold = (1.0 / k + rho) * folds.var(axis=-1, ddof=1)
    if r < 2:
        total, df = v_fold, np.full(v_fold.shape, float(k - 1))
    else:
        v_seed = seeds.var(axis=-1, ddof=1) / r
        total = v_fold + v_seed
        with np.errstate(divide="ignore", invalid="ignore"):
            df = np.where(total > 0, total**2 / (v_fold**2 / (k - 1) + v_seed**2 / (r - 1)), k - 1.0)
    se = np.sqrt(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2.0 * sps.t.sf(np.abs(folds.mean(axis=-1) / se), df)
    return {"se": se, "df": df, "p": np.where(se > 0, p, 1.0)}


def _mde(se_corrected: np.ndarray | float, df: float | np.ndarray, alpha: float, power: float) -> np.ndarray:
    """Smallest true difference the corrected test finds with probability ``power``."""
    return (sps.t.ppf(1.0 - alpha / 2.0, df) + sps.t.ppf(power, df)) * np.asarray(se_corrected)


def compare(
    diffs: Sequence[float],
    rho: float,
    rope: float = DEFAULT_ROPE,
    level: float = VERDICT_LEVEL,
    alpha: float = 0.05,
    power: float = 0.8,
) -> Comparison:
    """Compare A with B from the paired differences ``A - B`` of the (seed, fold) runs.

    ``rho`` is ``n_val / n_train`` of the compared runs (about ``1/(k-1)`` for k folds); it
    accounts for the overlap of training sets that makes the differences correlated. ``level``
    is both the confidence of the interval and the posterior probability a verdict needs;
    ``alpha`` and ``power`` define the minimum detectable effect.
    """
    rho = float(rho)
    rope = float(rope)
    _check_rho(rho)
    if not (math.isfinite(rope) and rope >= 0.0):
        raise ValueError(f"rope must be finite and >= 0, got {rope!r}")
    _check_unit_interval("level", level)
    _check_unit_interval("alpha", alpha)
    _check_unit_interval("power", power)
    d = np.asarray(diffs, dtype=float).ravel()
    if not np.all(np.isfinite(d)):
        raise ValueError(f"paired differences must be finite, got {d[~np.isfinite(d)].tolist()}")
    n = len(d)
    if n < 2:
        missing = {field.name: _NAN for field in fields(Comparison)}
        missing.update(n=n, mean=float(d[0]) if n else _NAN, rho=rho, rope=rope)
        return Comparison(**{**missing, "verdict": "undecided"})

    tests = _paired_tests(d[None, :], rho)
    return _infer(
        n=n, mean=float(tests["mean"][0]), sd=math.sqrt(float(tests["var"][0])), rho=rho,
        se=float(tests["se_corrected"][0]), df=float(n - 1), constant=bool(tests["constant"][0]),
        p_uncorrected=float(tests["p_uncorrected"][0]), rope=rope, level=level, alpha=alpha, power=power,
    )


def _infer(*, n: int, mean: float, sd: float, rho: float, se: float, df: float, constant: bool,
           p_uncorrected: float, rope: float, level: float, alpha: float, power: float) -> Comparison:
    """The test, interval, posterior, verdict and power of a mean difference with standard
    error ``se`` on ``df`` degrees of freedom (``constant``: every difference the same)."""
    if constant:
        # The posterior collapses onto the observed mean: all mass on one side of the ROPE.
        p_better = 1.0 if mean > rope else 0.0
        p_worse = 1.0 if mean < -rope else 0.0
        half = 0.0
        t_stat = _NAN if mean == 0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0 else 0.0
    else:
        posterior = sps.t(df, loc=mean, scale=se)
        p_worse = float(posterior.cdf(-rope))
        p_better = float(posterior.sf(rope))
        half = float(sps.t.ppf(0.5 + level / 2.0, df)) * se
        t_stat = mean / se
        p = float(2.0 * sps.t.sf(abs(t_stat), df))
    p_rope = max(0.0, 1.0 - p_worse - p_better)

    if p_better >= level:
        verdict = "better"
    elif p_rope >= level:
        verdict = "equivalent"
    elif p_worse >= level:
        verdict = "worse"
    else:
        verdict = "undecided"

    return Comparison(
        n=n, mean=mean, sd=sd, rho=rho, se_corrected=se, df=float(df), t_corrected=t_stat,
        p_corrected=p, ci_low=mean - half, ci_high=mean + half, p_uncorrected=p_uncorrected,
        p_worse=p_worse, p_rope=p_rope, p_better=p_better, rope=rope, verdict=verdict,
        mde=float(_mde(se, df, alpha, power)),
    )


def fold_means(pairs: Mapping[tuple[int, int], float]) -> np.ndarray:
    """The mean difference of each fold over its seeds, by fold: the units the test counts.

    ``pairs`` maps (seed, fold) to the difference of that run pair."""
    by_fold: dict[int, list[float]] = {}
    for (_seed, fold), value in pairs.items():
        by_fold.setdefault(int(fold), []).append(float(value))
    return np.array([np.mean(by_fold[f]) for f in sorted(by_fold)], dtype=float)


def seed_means(pairs: Mapping[tuple[int, int], float]) -> np.ndarray:
    """The mean difference of each seed over its folds, by seed: each seed's own CV estimate."""
    by_seed: dict[int, list[float]] = {}
    for (seed, _fold), value in pairs.items():
        by_seed.setdefault(int(seed), []).append(float(value))
    return np.array([np.mean(by_seed[s]) for s in sorted(by_seed)], dtype=float)


def grid_standard_error(fold_mean: np.ndarray, seed_mean: np.ndarray, rho: float) -> tuple[float, float]:
    """The standard error of the mean difference of an r-seeds x k-folds grid and its degrees
    of freedom. Two parts: the folds' (Nadeau & Bengio: ``(1/k + rho) var(fold means)``, the
    overlap of training sets) and the seeds' (``var(seed means) / r``: a seed's initialisation
    and data order are shared by all its folds, so its effect does not average out over folds).
    Satterthwaite's degrees of freedom; one seed leaves the seed part unmeasured (fold part
    alone, ``k - 1``)."""
    k, r = len(fold_mean), len(seed_mean)
    v_fold = (1.0 / k + rho) * float(np.var(fold_mean, ddof=1))
    if r < 2:
        return math.sqrt(v_fold), float(k - 1)
    v_seed = float(np.var(seed_mean, ddof=1)) / r
    total = v_fold + v_seed
    if total == 0:
        return 0.0, float(k - 1)
    df = total**2 / (v_fold**2 / (k - 1) + v_seed**2 / (r - 1))
    return math.sqrt(total), float(df)


def compare_runs(
    pairs: Mapping[tuple[int, int], float], rho: float, rope: float = DEFAULT_ROPE,
    level: float = VERDICT_LEVEL, alpha: float = 0.05, power: float = 0.8,
) -> Comparison:
    """Compare A with B from the differences ``pairs[(seed, fold)] = A - B`` of their runs.

    The mean is over the fold means of the seeds; its standard error adds the folds' part
    (corrected for overlapping training sets) and the seeds' part (:func:`grid_standard_error`).
    With one seed it is exactly the corrected test over the folds (Nadeau & Bengio), which cannot
    see the seed's own effect on the difference: ``n_seeds`` tells the reader."""
    rho = float(rho)
    _check_rho(rho)
    folds, seeds = fold_means(pairs), seed_means(pairs)
    if len(folds) < 2:
        return compare(list(folds), rho, rope=rope, level=level, alpha=alpha, power=power)
    plain = compare(list(folds), rho, rope=rope, level=level, alpha=alpha, power=power)
    se, df = grid_standard_error(folds, seeds, rho)
    values = np.array(list(pairs.values()), dtype=float)
    return _infer(
        n=len(folds), mean=float(folds.mean()), sd=plain.sd, rho=rho, se=se, df=df,
        constant=se == 0, p_uncorrected=plain.p_uncorrected if len(values) < 2
        else compare(list(values), rho).p_uncorrected,
        rope=float(rope), level=level, alpha=alpha, power=power,
    )


def describe_power(mde: float, rope: float | None = None) -> str:
    """The detectable difference as a sentence, so a reader does not mistake 'no
    significant difference' for 'no difference'."""
    if not math.isfinite(mde):
        return "too few paired runs to estimate power"
    sentence = f"this sweep cannot tell apart differences below {mde:.3f}"
    if rope is not None and mde > rope:
        sentence += f", not even one as large as the ROPE ({rope:.3f})"
    return sentence


def simulate_rejection_rates(
    seeds: int,
    folds: int,
    *,
    records: int = 300,
    simulations: int = 4000,
    sd_train: float = 1.0,
    sd_val: float = 1.0,
    sd_seed: float | None = None,
    sd_seed_shared: float = 0.0,
    shift: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    rng_seed: int = 0,
) -> dict[str, float]:
    """How often the corrected and the plain paired t-tests reject at ``alpha`` when the true
    mean difference is ``shift``, in a model where correlation comes from shared records.

    ``records`` records are split once into ``folds`` folds (a fixed partition: seeds re-train
    on the same folds). Each simulated data set draws, per record, ``u ~ N(0, sd_train²)``, its
    effect on the A - B difference when it is trained on, and ``v ~ N(0, sd_val²)``, its effect
    when it is scored; run (s, j) then gives ``d = shift + mean(u over train_j)
    + mean(v over val_j) + e`` with seed noise ``e ~ N(0, sd_seed²)``. ``sd_seed`` defaults to
    the spread of the validation term, ``sd_val / sqrt(records / folds)``.

    Returns the rejection rates of the report's test (``corrected``: corrected t-test over the
    fold means of the seeds), of the corrected test over all ``r * k`` pairs as if each seed had
    drawn a new partition (``corrected_pairs``) and of the plain paired t-test over the pairs
    (``uncorrected``), their Monte-Carlo standard error at ``alpha`` (the error
    of a rate that equals ``alpha``), the empirical correlation of two folds' differences (seed
    0, folds 0 and 1) with its analytic value, and the median minimum detectable effect.
    """
    if seeds < 1 or folds < 2 or records < 2 * folds or simulations < 2:
        raise ValueError(
            f"need seeds >= 1, folds >= 2, records >= 2 * folds and simulations >= 2, got "
            f"seeds={seeds}, folds={folds}, records={records}, simulations={simulations}"
        )
    rng = np.random.default_rng(rng_seed)
    fold_of = rng.permutation(np.arange(records) % folds)  # the one fixed partition
    membership = np.zeros((records, folds))
    membership[np.arange(records), fold_of] = 1.0
    val_size = membership.sum(axis=0)
    train_size = records - val_size
    rho = float(np.mean(val_size / train_size))
    if sd_seed is None:
        sd_seed = sd_val / math.sqrt(records / folds)

    u = rng.normal(0.0, sd_train, size=(simulations, records))
    v = rng.normal(0.0, sd_val, size=(simulations, records))
    u_fold = u @ membership  # (simulations, folds): sums over each fold's records
    train_term = (u_fold.sum(axis=1, keepdims=True) - u_fold) / train_size
    val_term = (v @ membership) / val_size
    e = rng.normal(0.0, sd_seed, size=(simulations, seeds, folds))
    # A seed's own effect, shared by its folds (same initialisation and data order).
    a = rng.normal(0.0, sd_seed_shared, size=(simulations, seeds, 1)) if sd_seed_shared else 0.0
    d = (shift + train_term + val_term)[:, None, :] + e + a  # (simulations, seeds, folds)

    pairs = _paired_tests(d.reshape(simulations, seeds * folds), rho)
    fold_only = _paired_tests(d.mean(axis=1), rho)  # the fold means over seeds, seeds ignored
    tests = _grid_tests(d, rho)  # what the report tests
    mde = _mde(tests["se"], tests["df"], alpha, power)

    m0, m1 = val_size[0], val_size[1]
    shared = records - m0 - m1
    t0, t1 = train_size[0], train_size[1]
    covariance = shared * sd_train**2 / (t0 * t1)
    var0 = sd_train**2 / t0 + sd_val**2 / m0 + sd_seed**2
    var1 = sd_train**2 / t1 + sd_val**2 / m1 + sd_seed**2
    return {
        "corrected": float(np.mean(tests["p"] < alpha)),
        "corrected_folds_only": float(np.mean(fold_only["p_corrected"] < alpha)),
        "corrected_pairs": float(np.mean(pairs["p_corrected"] < alpha)),
        "uncorrected": float(np.mean(pairs["p_uncorrected"] < alpha)),
        "mc_se": math.sqrt(alpha * (1.0 - alpha) / simulations),
        "fold_correlation": float(np.corrcoef(d[:, 0, 0], d[:, 0, 1])[0, 1]),
        "fold_correlation_expected": float(covariance / math.sqrt(var0 * var1)),
        "mde_median": float(np.median(mde)),
        "rho": rho,
        "sd_seed": float(sd_seed),
    }


def simulate_null_rejection_rates(seeds: int, folds: int, **options: float) -> dict[str, float]:
    """:func:`simulate_rejection_rates` under the null (no true difference): the test's size,
    which should not exceed ``alpha`` for the corrected test to be trusted."""
    if options.get("shift", 0.0) != 0.0:
        raise ValueError(f"the null has no shift, got shift={options['shift']!r}")
    return simulate_rejection_rates(seeds, folds, **options)  # type: ignore[arg-type]
