"""How one person and one recording differ from the model's textbook beat.

:func:`~ecgtricks.synth.ecg.generate.generate_ecg` without a :class:`Variability` draws the
model's own, narrow variation (the class-definition tests and the built-in dataset use that);
the twin passes one drawn by :func:`draw_variability`, whose ranges are the spreads measured on
the 120 real records of the shared samples (``scripts/twin_vs_real.py``, measures of
:mod:`ecgtricks.synth.population`; figures in ``docs/twin-calibration.md``):

| variation | real records (p10 / p50 / p90) | drawn per record |
| --- | --- | --- |
| beat-to-beat QRS size (``qrs_cv``) | 0.012 / 0.036 / 0.114 (sinus sources 0.008-0.06) | respiratory swing 0.5-8 %, beat jitter 0.3-3 % (log-uniform) |
| RR variation of sinus rhythm (``rr_cv``, NSR records) | 0.017 / 0.028 / 0.059 (PTB-XL) | RR noise sd 0.5-5 % (log-uniform), besides the respiratory swing |
| J point / ST in V2 (``st_V2_mv``) | -0.047 / 0.047 / 0.147 | normal(0.04, 0.05) mV along V2 (early repolarisation) |
| chest geometry and electrode placement | median QRS size per lead, real / twin (after the limb leads' gain): V1 0.78, V2 1.3, V4 1.6, V6 1.1; chest sizes spread 2-4x between p10 and p90 | per-lead gain: :data:`CHEST_GAIN` (V3, V5 interpolated) times log-normal sd 0.2; I and II log-normal sd 0.05 |
| beat-to-beat shape (``beat_corr``: correlation of a beat with the median beat) | 0.861 / 0.988 / 0.997 | breathing swings each lead's gain by normal(0, 6 %) at a 3-6 s period |
| rate near a class bound | 7 of 73 rate labels disagree with the measured rate, mostly within 5 bpm of the bound | the drawn rate times log-normal sd 4 % |
| septal q waves of normal records (median beat, NSR-only records: 21 real, 39 twin) | q/R > 0.25 in III 29 %, in aVL 29 %; q in V5/V6 median 0.03-0.05 mV | the model's: 10 % / 54 %, 0.12 mV. The septal force's vertical part uniform(-0.9, 0.5) (upward: q in II, III, aVF) and its size times log-uniform(0.25, 0.7) |
| T size | T in II -0.06 / 0.16 / 0.39 mV, the twin's 0.19 at the limb gain | T gain 0.85, log-normal sd 0.25 |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Variability:
    """Per-record departures from the model's beat (fractions unless named otherwise)."""

    resp_qrs: float = 0.04  # respiratory swing of the QRS voltage
    beat_jitter: float = 0.01  # beat-to-beat QRS voltage sd
    t_resp: float = 0.01  # respiratory swing of the T wave
    hrv_sd: float | None = None  # sinus RR noise sd; None: the model's (0.8-1.2 %)
    st_v2_mv: float = 0.0  # J-point elevation as seen in V2 (before the record's gain)
    t_gain: float = 1.0
    lead_gain: tuple[float, ...] | None = None  # gains of I, II, V1..V6 (electrode placement)
    # Breathing moves the heart against the electrodes: each lead's gain swings by its own depth
    resp_lead: tuple[float, ...] | None = None  # depth per lead of I, II, V1..V6
    resp_period_s: float = 4.0
    resp_phase: float = 0.0
    rate_scale: float = 1.0  # the drawn rate times this: rates near a class's bound cross it
    septal: tuple[float, float] | None = None  # normal septal force: (vertical part, size factor)


# Median gain of V1..V6 against the model's Dower projection, from the real / twin ratio of the
# median QRS size per lead (module table): the model's V1 is too large, V3-V5 too small.
CHEST_GAIN = (0.78, 1.3, 1.45, 1.6, 1.35, 1.1)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def draw_variability(rng: np.random.Generator) -> Variability:
    """One record's variation, drawn from the spreads measured on real records (module table)."""
    resp = _log_uniform(rng, 0.005, 0.08)
    jitter = _log_uniform(rng, 0.003, 0.03)
    hrv = _log_uniform(rng, 0.005, 0.05)
    st = float(rng.normal(0.04, 0.05))
    t_gain = 0.85 * float(np.exp(rng.normal(0.0, 0.25)))
    gains = np.array([1.0, 1.0, *CHEST_GAIN]) * np.exp(rng.normal(0.0, [0.05, 0.05, *[0.2] * 6]))
    swing = rng.normal(0.0, 0.06, size=8)
    return Variability(resp, jitter, 0.3 * resp, hrv, st, t_gain, tuple(float(g) for g in gains),
                       tuple(float(d) for d in swing), float(rng.uniform(3.0, 6.0)),
                       float(rng.uniform(0.0, 2 * np.pi)), float(np.exp(rng.normal(0.0, 0.04))),
                       (float(rng.uniform(-0.9, 0.5)), _log_uniform(rng, 0.25, 0.7)))
