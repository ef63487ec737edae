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
| normal T per lead (median beat, records labelled sinus rhythm only: 21 real, 40 twin v2) | T in I 0.25, II 0.29, V1 -0.13, V2 0.23, V4 0.28, V6 0.22 mV; twin v2 0.10, 0.18, -0.05, 0.09, 0.42, 0.17 | a normal T's gain per lead, :data:`T_LEAD_GAIN` (not a flat or inverted T: those are the TAb / TInv definitions) |
| P size per lead (``p_<lead>_mv``: peak-to-peak 250-90 ms before the QRS, sinus-only records: 21 real, 40 twin v3 before this row) | I 0.091, II 0.135, V1 0.072, V2 0.062, V4 0.082, V6 0.069 mV; twin 0.083, 0.081, 0.102, 0.177, 0.145, 0.110 (the chest leads' QRS gain, :data:`CHEST_GAIN`, made the P too large there) | the P waves' gain per lead, :data:`P_LEAD_GAIN` |
| AF's RR irregularity (``rr_cv``, ``min_rr_s``, AF records: 8 real, 139 twin v2) | rr_cv 0.09 / 0.18 / 0.36, shortest RR 0.32 / 0.38 / 0.61 s; twin v2 0.17 / 0.21 / 0.26, 0.36 / 0.41 / 0.57 s | RR CV uniform(0.1, 0.36), refractory floor 0.3 s (the model's: 0.16-0.28, 0.36 s) |
| PAC coupling (PAC records: 20 real, 129 twin v2) | shortest RR 0.30 / 0.37 / 0.48 s (at 81-132 bpm), twin v2 0.39 / 0.50 / 0.69 s (62-98 bpm) | the same 0.3 s floor; the PAC's P may fall on the T (0.12 s after the QRS onset, the model's: 0.2 s) |
| premature beats (PAC records: 20 real, 129 twin v2) | share of RR under 85 % of the median 0.06 / 0.15 / 0.43, runs of two or three early beats (JS20013, JS20016); twin v2 0.08 / 0.21 / 0.32, never two in a row | log-uniform 1-8 per 10 s of each kind asked for (the model's: uniform 1-4), at most every second beat (the model's: third); runs allowed in 30 % of records |
| sinus rate within its class (NSR 32, SB 15, STach 26 real records) | NSR 57 / 71 / 84, SB median 55, STach 103 / 109 / 128 bpm; twin v2 (uniform in the class's range) 65 / 80 / 95, 51, 96 / 124 / 146 | log-normal, median 72 bpm, sd of log 0.25, truncated to the class's range (:data:`SINUS_RATE`) |
| T against the QRS of its lead (``t_<lead>_mv`` / ``qrs_<lead>_mv``, all 120 real records; 299 twin v4) | I 0.21 / 0.48 / 0.69 (p50 / p90 / p97), 5 % above 0.6; II 0.22 / 0.47 / 0.69; twin v4 I 0.33 / 0.67 / 0.86, 14 % above 0.6 (:data:`T_LEAD_GAIN`'s 2.4 in I meets the twin's smaller QRS there) | a T with gains of its own stays under 0.6 x its lead's QRS peak-to-peak (:data:`T_QRS_CAP_REAL`): the gain is lowered where it would not |
| TAb as labelled (15 real records, 122 twin v3) | T in I 0.07, II 0.11, V2 0.23, V4 0.11, V6 0.09 mV: over sinus-only records' 0.30, 0.37, 1.0, 0.38, 0.43; 13 of 15 upright and low (0.04-0.17 mV) in I and II, none flat (<= 0.07 mV) in every key lead; twin v3 (flat or biphasic) 0.05, 0.08, -0.07, 0.10, 0.08 | low T in 80 % (:data:`TAB_KINDS_REAL`): the normal T, its own lead gains times 0.15-0.45 in I, II, V4-V6 (V1, V2 kept); flat 10 %, biphasic 10 % |
| frontal QRS loop (sinus-only records: 21 real, 39 twin v5) | QRS in aVL 0.34 / 0.56 / 0.96 mV, in I 0.47 / 0.85 / 1.19; q/R in III 0.025 / 0.073 / 5.3, in aVL 0.004 / 0.057 / 0.32; twin v5 (its one main force along the axis: a loop that is a line) aVL 0.09 / 0.25 / 0.63, I 0.42 / 0.63 / 1.05, q/R in III 0.000 / 0.035 / 0.20 | two forces across the main one, opposite and cancelling in area (the axis stays as solved), log-uniform 0.2-0.7 of it (:data:`QRS_LOOP_REAL`); clockwise as displayed in 75 % (:data:`QRS_LOOP_CLOCKWISE`), which keeps aVL's q small and gives III its q |
| normal axis (sinus-only records) | -1 / 44 / 87 degrees; twin v5 (normal(45, 22), clipped) 10 / 41 / 68 | normal(45, 38) truncated to the normal range (:data:`AXIS_SD_REAL`) |
| narrow QRS width (``qrs_ms``, sinus-only records) | 48 / 58 / 72 ms; twin v5 (the model's 82-102 ms of forces) 50 / 68 / 76 | 68-94 ms of forces (:data:`QRS_NORMAL_REAL`) |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtricks.synth.ecg.constants import AF_CV, AF_MIN_RR, ECTOPY_PER_10S


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
    t_lead_gain: tuple[float, ...] | None = None  # a normal T's gain per lead of I, II, V1..V6
    p_lead_gain: tuple[float, ...] | None = None  # the P waves' gain per lead of I, II, V1..V6
    af_cv: tuple[float, float] = AF_CV  # range of AF's RR coefficient of variation
    min_rr_s: float = AF_MIN_RR  # the AV node's floor under AF and PACs
    pac_p_after_s: float = 0.2  # a PAC's P comes this long after the previous beat's QRS at the earliest
    sinus_rate: tuple[float, float] | None = None  # (median bpm, sd of log): within a class's range
    ectopy_per_10s: tuple[float, float] = ECTOPY_PER_10S  # premature beats of each kind asked for
    ectopy_every: int = 3  # at most one beat in this many is premature
    ectopy_runs: bool = False  # premature beats may follow each other (couplets, runs)
    # shares of TAb's kinds of T: low, flat, biphasic; None: the model's, flat or biphasic evenly
    tab_kinds: tuple[float, float, float] | None = None
    t_qrs_cap: float | None = None  # a T with gains of its own: at most this x its lead's QRS
    axis_sd: float | None = None  # spread of a normal frontal axis (degrees); None: the model's
    qrs_normal_s: tuple[float, float] | None = None  # a narrow QRS's duration range; None: the model's
    qrs_loop: float = 0.0  # how far the frontal QRS loop opens (signed: its sense); 0: a line


# Median gain of V1..V6 against the model's Dower projection, from the real / twin ratio of the
# median QRS size per lead (module table): the model's V1 is too large, V3-V5 too small.
CHEST_GAIN = (0.78, 1.3, 1.45, 1.6, 1.35, 1.1)
# A normal T's gain per lead of I, II, V1..V6: the real / twin-v2 ratio of the median T of
# sinus-only records (module table); V3 and V5 interpolated, V1/V2 kept under their ratio (2.6)
# as part of the twin's T there points the other way.
T_LEAD_GAIN = (2.4, 1.6, 1.8, 1.8, 1.2, 0.7, 1.0, 1.3)
# The P waves' gain per lead of I, II, V1..V6: the real / twin ratio of the median P size of
# sinus-only records (module table); V3 and V5 interpolated; V2 above its ratio (0.35), whose
# twin figure includes the start of a wider QRS.
P_LEAD_GAIN = (1.1, 1.6, 0.7, 0.45, 0.5, 0.55, 0.6, 0.65)
AF_CV_REAL, MIN_RR_REAL = (0.1, 0.36), 0.3
# Real PACs at fast rates come 0.30 s after the last beat: their P sits on its T, not after it.
PAC_P_AFTER_REAL = 0.12
SINUS_RATE = (72.0, 0.25)  # median bpm and sd of the log of the sinus rates of a population
ECTOPY_REAL, ECTOPY_RUNS = (1.0, 8.0), 0.3  # per 10 s (log-uniform); the share of records with runs
# TAb as labelled (15 real records): 13 show a low upright T in I, II and V4-V6 with V2 kept
# (module table), none the model's flat T under 0.07 mV in every key lead.
TAB_KINDS_REAL = (0.8, 0.1, 0.1)
# T over the QRS (peak-to-peak) of the same lead, 120 real records: I 0.21 / 0.48 / 0.69, II 0.22 /
# 0.47 / 0.69 (p50 / p90 / p97); the T's lead gains alone took the twin's I to 0.33 / 0.67 / 0.86 (v4).
T_QRS_CAP_REAL = 0.6
# Sinus-only records (module table): the normal axis spreads as normal(45, 38), truncated; a narrow
# QRS measures 10 ms less than the model's forces gave; the frontal loop opens (aVL, I, q in III).
AXIS_SD_REAL = 38.0
QRS_NORMAL_REAL = (0.068, 0.094)
QRS_LOOP_REAL = (0.2, 0.7)
QRS_LOOP_CLOCKWISE = 0.75


def log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    """A draw whose logarithm is uniform: for sizes that span a decade or more."""
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def draw_variability(rng: np.random.Generator, side: np.random.Generator | None = None) -> Variability:
    """One record's variation, drawn from the spreads measured on real records (module table).
    ``side``: the generator of what version 6 added (the loop), so that a twin record's own
    stream stays as it was; without it, drawn from ``rng`` after the rest."""
    resp = log_uniform(rng, 0.005, 0.08)
    jitter = log_uniform(rng, 0.003, 0.03)
    hrv = log_uniform(rng, 0.005, 0.05)
    st = float(rng.normal(0.04, 0.05))
    t_gain = 0.85 * float(np.exp(rng.normal(0.0, 0.25)))
    gains = np.array([1.0, 1.0, *CHEST_GAIN]) * np.exp(rng.normal(0.0, [0.05, 0.05, *[0.2] * 6]))
    swing = rng.normal(0.0, 0.06, size=8)
    ectopy = log_uniform(rng, *ECTOPY_REAL)
    return Variability(resp, jitter, 0.3 * resp, hrv, st, t_gain, tuple(float(g) for g in gains),
                       tuple(float(d) for d in swing), float(rng.uniform(3.0, 6.0)),
                       float(rng.uniform(0.0, 2 * np.pi)), float(np.exp(rng.normal(0.0, 0.04))),
                       (float(rng.uniform(-0.9, 0.5)), log_uniform(rng, 0.25, 0.7)),
                       t_lead_gain=T_LEAD_GAIN, p_lead_gain=P_LEAD_GAIN, af_cv=AF_CV_REAL, min_rr_s=MIN_RR_REAL,
                       pac_p_after_s=PAC_P_AFTER_REAL,
                       sinus_rate=SINUS_RATE, ectopy_per_10s=(ectopy, ectopy), ectopy_every=2,
                       ectopy_runs=bool(rng.random() < ECTOPY_RUNS), tab_kinds=TAB_KINDS_REAL,
                       t_qrs_cap=T_QRS_CAP_REAL, axis_sd=AXIS_SD_REAL, qrs_normal_s=QRS_NORMAL_REAL,
                       qrs_loop=draw_qrs_loop(side or rng))


def draw_qrs_loop(rng: np.random.Generator) -> float:
    """The frontal QRS loop's opening (:data:`QRS_LOOP_REAL`); negative: clockwise as displayed
    (leftward first, then inferior), the common sense (:data:`QRS_LOOP_CLOCKWISE`)."""
    size = log_uniform(rng, *QRS_LOOP_REAL)
    return -size if rng.random() < QRS_LOOP_CLOCKWISE else size
