"""The built-in dataset: synthetic 12-lead ECGs with physiologically defined labels.

A record is a moving cardiac dipole projected onto the lead vectors. Each wave (P, Q, R, S, T,
and fibrillatory f-waves) has a fixed 3-D direction per record and a Gaussian time course at
each beat, so the frontal QRS axis, heart rate, PR interval and QRS voltage are set exactly
and the labels follow from them:

| code | class | definition used here |
| --- | --- | --- |
| 426783006 | sinus rhythm | P before every QRS, rate 62–98 bpm, RR variability ~2% |
| 426177001 | sinus bradycardia | as sinus, rate 38–57 bpm |
| 427084000 | sinus tachycardia | as sinus, rate 104–150 bpm |
| 164889003 | atrial fibrillation | no P waves, 4–8 Hz f-waves (0.03–0.07 mV), irregular RR (CV 0.18–0.30), 70–140 bpm |
| 270492004 | 1st degree AV block | PR 230–320 ms (else 120–180 ms); never with AF |
| 251146004 | low QRS voltages | QRS peak-to-peak < 0.5 mV in every limb lead (0.20–0.34); else >= 0.9 mV in one |
| 39732003 | left axis deviation | frontal QRS axis −80° to −45° |
| 47665007 | right axis deviation | frontal QRS axis +105° to +160° (else −10° to +75°) |

Limb leads follow Einthoven and Goldberger exactly (III = II − I, aVR = −(I + II)/2, ...).
Noise: white noise, baseline wander (0.05–0.5 Hz), and mains at 50 or 60 Hz in some records.
Lengths 6–20 s at 250, 500 or 1000 Hz, written in the challenge format.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgtricks.data.writer import write_record
from ecgtricks.files import built_once

GENERATOR_VERSION = 1

SINUS, BRADY, TACHY, AF = "426783006", "426177001", "427084000", "164889003"
IAVB, LQRSV, LAD, RAD = "270492004", "251146004", "39732003", "47665007"
CLASSES = (SINUS, BRADY, TACHY, AF, IAVB, LQRSV, LAD, RAD)
RHYTHM_PROBABILITIES = {SINUS: 0.4, BRADY: 0.2, TACHY: 0.2, AF: 0.2}
RATES = {SINUS: (62, 98), BRADY: (38, 57), TACHY: (104, 150), AF: (70, 140)}
P_IAVB, P_LQRSV, P_LAD, P_RAD = 0.2, 0.2, 0.2, 0.15
RATES_HZ = (250, 500, 1000)

# Horizontal-plane directions of V1..V6 (degrees from the patient's left, towards anterior).
_PRECORDIAL_DEG = np.array([115.0, 95.0, 75.0, 55.0, 30.0, 5.0])


@dataclass
class SyntheticRecord:
    signal_mv: np.ndarray  # 12 x n, float32, standard lead order
    fs: float
    labels: list[str]
    age: float
    sex: str
    heart_rate_bpm: float
    axis_deg: float
    pr_ms: float | None
    r_peaks: np.ndarray = field(repr=False)  # sample index of every R wave
    clean_mv: np.ndarray = field(repr=False, default=None)  # the signal before noise


def _direction(frontal_deg: float, anterior: float) -> np.ndarray:
    """Unit-ish 3-D vector: x left, y inferior (frontal angle from x towards y), z anterior."""
    a = np.deg2rad(frontal_deg)
    return np.array([np.cos(a), np.sin(a), anterior])


def lead_matrix() -> np.ndarray:
    """12 x 3 projection of the dipole onto the standard leads (x left, y inferior, z anterior)."""
    lead_i = np.array([1.0, 0.0, 0.0])
    lead_ii = np.array([np.cos(np.pi / 3), np.sin(np.pi / 3), 0.0])
    lead_iii = lead_ii - lead_i
    limb = [lead_i, lead_ii, lead_iii, -(lead_i + lead_ii) / 2, lead_i - lead_ii / 2, lead_ii - lead_i / 2]
    a = np.deg2rad(_PRECORDIAL_DEG)
    # precordial leads see the horizontal plane, and a little of the inferior component
    precordial = np.stack([np.cos(a), np.full(6, 0.15), np.sin(a)], axis=1) * 1.4
    return np.vstack([np.stack(limb), precordial])


_LEADS = lead_matrix()


def _beat_times(rng: np.random.Generator, rhythm: str, rate: float, duration: float) -> np.ndarray:
    """R-wave times (s): sinus with ~2% variability, AF irregularly irregular."""
    mean_rr = 60.0 / rate
    n = int(duration / mean_rr) + 3
    if rhythm == AF:
        cv = rng.uniform(0.18, 0.30)
        shape = 1.0 / cv**2  # gamma RR: mean mean_rr, coefficient of variation cv
        rr = rng.gamma(shape, mean_rr / shape, size=n)
        rr = np.maximum(rr, 0.3)
    else:
        rr = mean_rr * (1 + 0.02 * rng.standard_normal(n))
    return rng.uniform(0.1, 0.6) * mean_rr + np.cumsum(rr) - rr[0]


def _gaussian_train(times: np.ndarray, amplitudes: np.ndarray, sigma: float, t: np.ndarray) -> np.ndarray:
    """Sum of Gaussians centred at ``times``: impulses convolved with one kernel (no loop over beats)."""
    fs = 1.0 / (t[1] - t[0])
    impulses = np.zeros(len(t))
    index = np.round(times * fs).astype(int)
    keep = (index >= 0) & (index < len(t))
    np.add.at(impulses, index[keep], amplitudes[keep])
    half = int(np.ceil(4 * sigma * fs))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) / (sigma * fs)) ** 2)
    return np.convolve(impulses, kernel, mode="same")


def generate_record(
    rng: np.random.Generator, *, fs: float | None = None, duration_s: float | None = None
) -> SyntheticRecord:
    fs = float(fs or rng.choice(RATES_HZ))
    duration = float(duration_s or rng.uniform(6.0, 20.0))
    n = int(round(duration * fs))
    t = np.arange(n) / fs

    rhythm = rng.choice(list(RHYTHM_PROBABILITIES), p=list(RHYTHM_PROBABILITIES.values()))
    labels = [str(rhythm)]
    rate = rng.uniform(*RATES[rhythm])
    beats = _beat_times(rng, rhythm, rate, duration)
    rr = np.diff(beats, append=beats[-1] + 60.0 / rate)

    axis_roll = rng.random()
    if axis_roll < P_LAD:
        axis, labels = rng.uniform(-80, -45), [*labels, LAD]
    elif axis_roll < P_LAD + P_RAD:
        axis, labels = rng.uniform(105, 160), [*labels, RAD]
    else:
        axis = rng.uniform(-10, 75)
    pr = None
    if rhythm != AF:
        if rng.random() < P_IAVB:
            pr, labels = rng.uniform(0.23, 0.32), [*labels, IAVB]
        else:
            pr = rng.uniform(0.12, 0.18)
    low_voltage = rng.random() < P_LQRSV
    if low_voltage:
        labels.append(LQRSV)

    # QRS: R along the axis; Q and S opposite and small, so the net QRS axis is the R axis.
    qrs_scale = rng.uniform(0.8, 1.25)  # QRS 80-110 ms
    r_dir = _direction(axis, rng.uniform(-0.3, 0.5))
    components = []  # (direction 3-vector, waveform over t)
    r_amp = np.ones(len(beats))
    components.append((r_dir, _gaussian_train(beats, r_amp, 0.010 * qrs_scale, t)))
    components.append((-r_dir * rng.uniform(0.1, 0.2), _gaussian_train(beats - 0.022 * qrs_scale, r_amp, 0.008 * qrs_scale, t)))
    components.append((-r_dir * rng.uniform(0.15, 0.35), _gaussian_train(beats + 0.026 * qrs_scale, r_amp, 0.009 * qrs_scale, t)))
    qrs = sum(np.outer(_LEADS @ d, w) for d, w in components)
    # Scale the QRS to its voltage class, measured on the limb leads.
    limb_p2p = np.ptp(qrs[:6], axis=1).max()
    # low voltage leaves room for f-waves and T/P overlap to stay under 0.5 mV
    target = rng.uniform(0.2, 0.34) if low_voltage else rng.uniform(0.9, 2.2)
    qrs *= target / limb_p2p

    others = np.zeros_like(qrs)
    t_dir = _direction(axis + rng.uniform(-20, 20), rng.uniform(0.0, 0.5))
    qt = 0.40 * np.sqrt(rr.clip(0.3, 2.0)) * rng.uniform(0.9, 1.1)  # Bazett-like QT
    others += np.outer(_LEADS @ t_dir, _gaussian_train(beats + qt - 0.08, np.full(len(beats), rng.uniform(0.2, 0.4)), 0.045, t))
    if rhythm == AF:
        f_rate = rng.uniform(4, 8)
        phase = 2 * np.pi * np.cumsum(f_rate * (1 + 0.1 * np.sin(2 * np.pi * 0.3 * t))) / fs
        f_dir = _direction(rng.uniform(0, 360), rng.uniform(0.5, 1.0))
        others += np.outer(_LEADS @ f_dir, rng.uniform(0.03, 0.07) * np.sin(phase + rng.uniform(0, 2 * np.pi)))
    else:
        p_dir = _direction(rng.uniform(40, 70), rng.uniform(-0.2, 0.3))
        others += np.outer(_LEADS @ p_dir, _gaussian_train(beats - pr, np.full(len(beats), rng.uniform(0.12, 0.22)), 0.022, t))
    clean = qrs + others

    noise = rng.uniform(0.005, 0.025) * rng.standard_normal(clean.shape)
    wander = np.zeros(n)
    for _ in range(3):
        wander += rng.uniform(0.03, 0.15) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
    noise += wander[None, :] * rng.uniform(0.5, 1.5, size=(12, 1))
    if rng.random() < 0.3:
        mains = rng.choice([50.0, 60.0])
        noise += rng.uniform(0.01, 0.06) * np.sin(2 * np.pi * mains * t + rng.uniform(0, 2 * np.pi))[None, :]
    # Keep Einthoven/Goldberger exact in the noisy signal too: derive III, aVR, aVL, aVF from I, II.
    signal = clean + noise
    lead_i, lead_ii = signal[0], signal[1]
    signal[2] = lead_ii - lead_i
    signal[3] = -(lead_i + lead_ii) / 2
    signal[4] = lead_i - lead_ii / 2
    signal[5] = lead_ii - lead_i / 2

    r_peaks = np.round(beats * fs).astype(int)
    r_peaks = r_peaks[(r_peaks >= 0) & (r_peaks < n)]
    return SyntheticRecord(
        signal_mv=signal.astype(np.float32), fs=fs, labels=labels,
        age=float(rng.integers(18, 95)), sex=str(rng.choice(["Male", "Female"])),
        heart_rate_bpm=60.0 * (len(r_peaks) - 1) / ((r_peaks[-1] - r_peaks[0]) / fs) if len(r_peaks) > 1 else rate,
        axis_deg=float(axis), pr_ms=None if pr is None else 1000 * pr, r_peaks=r_peaks,
        clean_mv=clean.astype(np.float32),
    )


def _write_range(out_dir: str, seed: int, start: int, stop: int) -> None:
    for i in range(start, stop):
        record = generate_record(np.random.default_rng([seed, i]))
        write_record(Path(out_dir) / f"SYN{i:05d}", record.signal_mv, record.fs, record.labels,
                     age=record.age, sex=record.sex)


def generate_dataset(
    out_dir: str | Path, n_records: int = 1200, seed: int = 0, workers: int | None = None
) -> Path:
    """Write ``SYN00000.hea/.mat`` ...; record ``i`` depends only on ``(seed, i)``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = min(workers or min(2, os.cpu_count() or 1), max(1, n_records // 50))
    if workers <= 1:
        _write_range(str(out_dir), seed, 0, n_records)
        return out_dir
    bounds = np.linspace(0, n_records, 4 * workers + 1).astype(int)
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_write_range, [str(out_dir)] * (len(bounds) - 1), [seed] * (len(bounds) - 1),
                      bounds[:-1].tolist(), bounds[1:].tolist()))
    return out_dir


def ensure_dataset(root: str | Path, n_records: int = 1200, seed: int = 0) -> Path:
    """The built-in dataset under ``root``, generated once (under a lock, renamed into place)."""
    final = Path(root) / f"synthetic-v{GENERATOR_VERSION}-n{n_records}-s{seed}"
    with built_once(final) as tmp:
        if tmp is not None:
            generate_dataset(tmp, n_records, seed)
    return final
