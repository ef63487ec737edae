"""Beat timing: the ventricular rate, the RR series and premature beats, and when P waves come.

Sinus rhythm is an RR series with respiratory modulation (~1.5 %, or 16-30 % peak to peak for
sinus arrhythmia); atrial fibrillation is irregularly irregular (0.36 s + a gamma wait); atrial
flutter is conducted 2:1 or 4:1 (the RR an exact multiple of the flutter cycle); pacing is
regular. Premature atrial beats reset the sinus node (non-compensatory pause); premature
ventricular beats leave it alone (full compensatory pause, the sinus P hidden in the PVC's
ST-T).

Rates below 44 bpm and premature beats closer than 0.36 s (PAC) / 0.4 s (PVC) to the previous
beat are left out: NeuroKit2's detector, the reference measurement, does not resolve them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal as sps
from scipy import stats

from ecgtricks.synth.ecg.constants import (
    AF_CV,
    AF_MIN_RR,
    COUPLING,
    FLUTTER_RATE,
    PR_NORMAL,
    RATE_AF,
    RATE_AF_BRADY,
    RATE_PACED,
    RATE_PACED_BRADY,
    SA_DEPTH,
    SA_PERIOD,
)
from ecgtricks.synth.ecg.plan import Plan
from ecgtricks.synth.ecg.variability import Variability

_MODEL = Variability()  # the model's own timing


@dataclass
class Beats:
    """Every beat of a record (and a little before and after it), times in seconds."""

    onsets: np.ndarray  # QRS onset (paced: spike) times, s
    kinds: np.ndarray  # 'N', 'A', 'V', 'P'
    mean_rr: float
    sinus_p: np.ndarray  # onsets of sinus (or tracked) P waves, s
    ectopic_p: np.ndarray  # onsets of PAC P waves, s
    resp: np.ndarray  # respiratory phase at each beat (for amplitude modulation)
    extra: dict[str, Any]


def draw_rate(rng: np.random.Generator, p: Plan,
              var: Variability = _MODEL) -> tuple[float, dict[str, Any]]:
    """Mean ventricular rate (bpm) of the rhythm. With ``var.sinus_rate`` (median bpm, sd of its
    log) a sinus rate follows that population within its class's range; the model's is uniform."""
    u = rng.uniform
    extra: dict[str, Any] = {}
    if p.rhythm == "af":
        rate = u(*RATE_AF_BRADY) if p.brady else u(*RATE_AF)
    elif p.rhythm == "paced":
        rate = u(*RATE_PACED_BRADY) if p.brady else u(*RATE_PACED)
    elif p.rhythm == "afl":
        flutter = u(*FLUTTER_RATE)
        ratio = 6 if p.brady else int(rng.choice([2, 4]))
        rate = flutter / ratio
        extra.update(flutter_cycle_s=60.0 / flutter, conduction_ratio=ratio,
                     atrial_rate_bpm=flutter)
    elif var.sinus_rate is None:
        rate = u(*p.rate)
    else:  # the truncated log-normal's quantile of one uniform draw
        median, sd = var.sinus_rate
        lo, hi = (stats.norm.cdf(np.log(r / median) / sd) for r in p.rate)
        rate = float(median * np.exp(sd * stats.norm.ppf(lo + (hi - lo) * u())))
    return rate, extra


def place_beats(rng: np.random.Generator, p: Plan, duration: float, rate: float,
                pr: float | None, pacing_mode: str | None, extra: dict[str, Any],
                var: Variability = _MODEL) -> Beats:
    """The beats of a record: RR series, premature beats and the P waves' onsets.

    ``var``: the timing of a real population (sinus RR noise, AF's irregularity, the AV node's
    floor, how many premature beats and whether they come in runs); the default is the model's."""
    u = rng.uniform
    hrv_sd, min_rr = var.hrv_sd, var.min_rr_s
    mean_rr = 60.0 / rate
    nb = int((duration + 2.5) / (0.5 * mean_rr)) + 6
    k = np.arange(nb)
    period = u(SA_PERIOD[0], min(SA_PERIOD[1], max(SA_PERIOD[0], 0.9 * duration)))
    resp = 2 * np.pi * k * mean_rr / period + u(0, 2 * np.pi)
    start = -u(0.0, 1.0) * mean_rr - 0.35  # the first beat: before the record starts
    if p.rhythm == "sinus":
        depth = u(*SA_DEPTH) if p.sa else u(0.003, 0.012)
        noise_sd = hrv_sd if hrv_sd is not None else (0.008 if p.sa else 0.012)
        rr = mean_rr * (1 + depth * np.sin(resp) + _ar1(rng, nb, noise_sd))
        extra.update(resp_period_s=period, resp_depth=depth)
    elif p.rhythm == "af":
        rr = _af_rr(rng, mean_rr, nb, start, duration, extra, var.af_cv, min_rr)
    else:
        rr = np.full(nb, mean_rr)
    nominal = rr.copy()
    kinds = np.full(nb, "P" if p.rhythm == "paced" else "N", dtype="<U1")

    # Premature beats: var.ectopy_per_10s (the model's 1-4) per 10 s, at least one of each kind
    # asked for, inside the record.
    want = [(kind, max(1, int(round(u(*var.ectopy_per_10s) * duration / 10))))
            for kind, on in (("A", p.pac), ("V", p.pvc)) if on]
    pr_pac = (pr if pr is not None else u(*PR_NORMAL)) + u(0.0, 0.04)
    if want:
        onsets_nominal = start + np.concatenate([[0.0], np.cumsum(rr[1:])])
        _mark_premature(rng, kinds, want, onsets_nominal, mean_rr, duration, var.ectopy_every,
                        var.ectopy_runs)
        _time_premature(rng, p, rr, nominal, kinds, mean_rr, pr, pr_pac, min_rr, var.pac_p_after_s)
    onsets = start + np.concatenate([[0.0], np.cumsum(rr[1:])])
    keep = onsets < duration + 0.3
    onsets, kinds, resp = onsets[keep], kinds[keep], resp[keep]
    nominal = nominal[keep]
    inside = (onsets >= 0) & (onsets < duration)
    if inside.sum() >= 3 and p.rhythm == "af":
        # the QT follows the record's own mean rate (an AF record's can differ from the drawn)
        mean_rr = float(np.diff(onsets[inside]).mean())

    sinus_p, ectopic_p = _p_onsets(rng, p, onsets, kinds, nominal, duration, pr, pr_pac,
                                   pacing_mode, extra)
    if p.rhythm == "afl":
        extra["flutter_origin_s"] = onsets[0] - u(0.18, 0.28)
    return Beats(onsets, kinds, mean_rr, sinus_p, ectopic_p, resp, extra)


def _spaced(rng: np.random.Generator, lo: int, hi: int, k: int,
            gaps: tuple[int, ...] = (3, 2)) -> np.ndarray:
    """k sorted beat indices in [lo, hi) with at least one normal beat between them (gaps 3,
    else 2; ``gaps=(1,)``: any k, runs of premature beats included)."""
    m_all = hi - lo
    for gap in gaps:
        m = m_all - (k - 1) * (gap - 1)
        if m >= k:
            pick = np.sort(rng.choice(m, size=k, replace=False)) + np.arange(k) * (gap - 1)
            return lo + pick
    k = max(0, (m_all + 1) // 2)
    return lo + 2 * np.arange(k)


def _ar1(rng: np.random.Generator, n: int, sd: float, rho: float = 0.7) -> np.ndarray:
    e = rng.standard_normal(n) * sd * np.sqrt(1 - rho * rho)
    return sps.lfilter([1.0], [1.0, -rho], e)


def _af_rr(rng: np.random.Generator, mean_rr: float, nb: int, start: float, duration: float,
           extra: dict[str, Any], af_cv: tuple[float, float] = AF_CV,
           min_rr: float = AF_MIN_RR) -> np.ndarray:
    """Irregularly irregular RR intervals of atrial fibrillation."""
    u = rng.uniform
    # The AV node lets nothing through within 0.36 s: RR = 0.36 s + a gamma-distributed
    # wait, with the drawn mean and coefficient of variation (skewed, no pile-up).
    cv = u(*af_cv)
    # (a gamma wait as irregular as an exponential at most: a fast AF is less irregular)
    cv = min(cv, max(af_cv[0], 1.0 - min_rr / mean_rr))
    excess, sd = max(mean_rr - min_rr, 0.02), cv * mean_rr
    shape = (excess / sd) ** 2
    wait = rng.gamma(shape, excess / shape, size=nb)
    # A short record still shows the drawn irregularity: the intervals inside it get exactly
    # that mean and CV (a power of the waits, found by bisection, keeps them positive and
    # skewed). Twice, as the record's beats move a little with the first pass.
    for _ in range(2):
        first = start + np.concatenate([[0.0], np.cumsum(min_rr + wait[1:])])
        r_near = first + 0.04  # about where the R peaks are (the record keeps those)
        seen = np.flatnonzero((r_near >= 0) & (r_near < duration))
        seen = seen[1:] if seen.size > 3 else np.arange(1, min(nb, 4))
        ratio = wait[seen] / wait[seen].mean()
        lo, hi = 0.05, 8.0
        for _ in range(40):  # bisection on the exponent (not a loop over beats)
            power = ratio ** (0.5 * (lo + hi))
            lo, hi = (0.5 * (lo + hi), hi) if power.std() / power.mean() < sd / excess else (
                lo, 0.5 * (lo + hi))
        wait[seen] = excess * power / power.mean()
    extra["rr_cv"] = cv
    return min_rr + wait


def _mark_premature(rng: np.random.Generator, kinds: np.ndarray, want: list[tuple[str, int]],
                    onsets_nominal: np.ndarray, mean_rr: float, duration: float, every: int = 3,
                    runs: bool = False) -> None:
    """Choose which beats are premature ('A', 'V'), in place in ``kinds``."""
    # (with a beat before and one after it inside the record, for its pauses to show)
    inside = np.flatnonzero((onsets_nominal > 0.25 + mean_rr)
                            & (onsets_nominal < duration - 0.4 - 1.2 * mean_rr))
    lo, hi = (int(inside[0]), int(inside[-1]) + 1) if inside.size else (1, 2)
    total = sum(c for _, c in want)
    # premature beats stay a minority: at most one beat in ``every`` (the model's: three)
    idx = _spaced(rng, lo, hi, min(total, max(len(want), (hi - lo + 2) // every)),
                  (1,) if runs else (3, 2))
    idx = rng.permutation(idx)
    counts = [c for _, c in want]
    if len(want) == 2 and idx.size >= 2:
        n_first = int(np.clip(round(idx.size * counts[0] / total), 1, idx.size - 1))
    else:
        n_first = idx.size
    split = [idx[:n_first], idx[n_first:]]
    for (kind, _), where in zip(want, split, strict=False):
        kinds[where] = kind


def _time_premature(rng: np.random.Generator, p: Plan, rr: np.ndarray, nominal: np.ndarray,
                    kinds: np.ndarray, mean_rr: float, pr: float | None, pr_pac: float,
                    min_rr: float = AF_MIN_RR, p_after: float = 0.2) -> None:
    """Coupling intervals of the premature beats and the pauses after them, in place in ``rr``."""
    u = rng.uniform
    nb = rr.size
    c = u(*COUPLING, size=nb)
    a_idx, v_idx = np.flatnonzero(kinds == "A"), np.flatnonzero(kinds == "V")
    base = mean_rr if p.rhythm == "af" else nominal
    base = np.broadcast_to(base, (nb,))
    if p.rhythm in ("sinus", "paced"):
        # The PAC's own P comes ``p_after`` after the previous QRS at the earliest (the model's
        # 0.2 s: after its ST; a real population's P may sit on the T), so a long PR makes for a
        # later PAC.
        c[a_idx] = np.clip((p_after + pr_pac) / base[a_idx], c[a_idx], 0.85)
    rr[a_idx] = c[a_idx] * base[a_idx]
    if p.rhythm == "sinus" and pr is not None:
        # The PVC comes before its cycle's sinus P, which then hides in the PVC's ST-T.
        c[v_idx] = np.minimum(c[v_idx], np.maximum(1 - (pr + 0.03) / base[v_idx], 0.45))
    rr[v_idx] = c[v_idx] * base[v_idx]
    # nothing comes within 0.36 s (PAC: refractory AV node) or 0.4 s (PVC: ventricle)
    rr[a_idx], rr[v_idx] = np.maximum(rr[a_idx], min_rr), np.maximum(rr[v_idx], 0.4)
    c[a_idx], c[v_idx] = rr[a_idx] / base[a_idx], rr[v_idx] / base[v_idx]
    premature = rr.copy()
    if p.rhythm == "paced":  # the pacemaker senses the early beat and restarts its interval
        rr[a_idx + 1] = mean_rr * u(1.0, 1.08)
        rr[v_idx + 1] = mean_rr * u(1.0, 1.08)
    elif p.rhythm != "af":
        # PAC resets the sinus node (non-compensatory); a PVC does not (compensatory).
        stretch = u(1.0, 1.0 + np.clip(0.9 - c[a_idx], 0.0, 0.15))
        rr[a_idx + 1] = nominal[a_idx + 1] * stretch
        rr[v_idx + 1] = nominal[v_idx + 1] + (1 - c[v_idx]) * nominal[v_idx]
    # in a run, a premature beat after another keeps its own coupling; the pause follows the run
    both = np.concatenate([a_idx, v_idx])
    in_run = both[np.isin(both - 1, both)]
    rr[in_run] = premature[in_run]


def _p_onsets(rng: np.random.Generator, p: Plan, onsets: np.ndarray, kinds: np.ndarray,
              nominal: np.ndarray, duration: float, pr: float | None, pr_pac: float,
              pacing_mode: str | None, extra: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Onsets of the sinus (or tracked) P waves and of the PACs' ectopic P waves."""
    u = rng.uniform
    sinus_p = np.zeros(0)
    ectopic_p = np.zeros(0)
    if pr is not None:
        if p.rhythm == "sinus":
            # Every sinus cycle has a P; the PVC's cycle keeps its (non-conducted) P on time.
            when = onsets.copy()
            v_idx = np.flatnonzero(kinds == "V")
            when[v_idx] = onsets[v_idx - 1] + nominal[v_idx]
            sinus_p = when[kinds != "A"] - pr
        elif pacing_mode == "VAT":
            sinus_p = onsets[kinds == "P"] - pr
    if pacing_mode == "VVI-dissociated":
        # complete heart block under the pacemaker: sinus P waves march through at their own rate
        p_rr = 60.0 / u(62.0, 95.0)
        sinus_p = np.arange(-u(0, p_rr) - 0.3, duration + 0.3, p_rr)
    if p.rhythm in ("sinus", "paced") and (kinds == "A").any():
        ectopic_p = onsets[kinds == "A"] - pr_pac
        extra["pac_pr_s"] = pr_pac
    return sinus_p, ectopic_p
