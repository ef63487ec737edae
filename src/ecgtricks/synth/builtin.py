"""The built-in dataset: 8 of the scored classes, drawn from the physiological model of
:mod:`ecgtricks.synth.ecg` (the same one the twin of the six archives uses), small enough
for ``make demo`` on two cores.

| code | class | how often |
| --- | --- | --- |
| 426783006 | sinus rhythm | 40 % of records (one rhythm each) |
| 426177001 | sinus bradycardia | 20 % |
| 427084000 | sinus tachycardia | 20 % |
| 164889003 | atrial fibrillation | 20 % |
| 270492004 | 1st degree AV block | 20 %, never with AF |
| 251146004 | low QRS voltages | 20 % |
| 39732003 | left axis deviation | 20 % |
| 47665007 | right axis deviation | 15 % (never with LAD) |

What each class looks like (rates, PR, axis, voltages) is the model's table
(:func:`ecgtricks.synth.ecg.definitions_markdown`, README). Noise: white noise, baseline
wander, mains at 50 or 60 Hz in 30 % of records. Lengths 6-20 s at 250, 500 or 1000 Hz.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgtricks.synth import ecg
from ecgtricks.synth.writer import write_record
from ecgtricks.utils.files import built_once

GENERATOR_VERSION = 2  # 2: the physiological model (realistic T/QRS ratios, detector-readable)

SINUS, BRADY, TACHY, AF = ecg.NSR, ecg.SB, ecg.STACH, ecg.AF
IAVB, LQRSV, LAD, RAD = ecg.IAVB, ecg.LQRSV, ecg.LAD, ecg.RAD
CLASSES = (SINUS, BRADY, TACHY, AF, IAVB, LQRSV, LAD, RAD)
RHYTHM_PROBABILITIES = {SINUS: 0.4, BRADY: 0.2, TACHY: 0.2, AF: 0.2}
P_IAVB, P_LQRSV, P_LAD, P_RAD = 0.2, 0.2, 0.2, 0.15
RATES_HZ = (250, 500, 1000)


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


def draw_labels(rng: np.random.Generator) -> list[str]:
    """One record's labels: a rhythm, then the other classes independently."""
    labels = [str(rng.choice(list(RHYTHM_PROBABILITIES), p=list(RHYTHM_PROBABILITIES.values())))]
    axis_roll = rng.random()
    if axis_roll < P_LAD:
        labels.append(LAD)
    elif axis_roll < P_LAD + P_RAD:
        labels.append(RAD)
    if labels[0] != AF and rng.random() < P_IAVB:
        labels.append(IAVB)
    if rng.random() < P_LQRSV:
        labels.append(LQRSV)
    return labels


def generate_record(
    rng: np.random.Generator, *, fs: float | None = None, duration_s: float | None = None
) -> SyntheticRecord:
    fs = float(fs or rng.choice(RATES_HZ))
    duration = float(duration_s or rng.uniform(6.0, 20.0))
    labels = draw_labels(rng)
    noise = ecg.NoiseProfile(
        white_mv=rng.uniform(0.005, 0.025), wander_mv=rng.uniform(0.03, 0.15),
        mains_hz=float(rng.choice([50.0, 60.0])),
        mains_mv=rng.uniform(0.01, 0.06) if rng.random() < 0.3 else 0.0,
    )
    drawn = ecg.generate_ecg(rng, labels, fs=fs, duration_s=duration, noise=noise)
    truth = drawn.truth
    return SyntheticRecord(
        signal_mv=drawn.signal_mv, fs=fs, labels=labels,
        age=float(rng.integers(18, 95)), sex=str(rng.choice(["Male", "Female"])),
        heart_rate_bpm=float(truth["heart_rate_bpm"]), axis_deg=float(truth["axis_deg"]),
        pr_ms=truth["pr_ms"], r_peaks=truth["r_peaks"], clean_mv=drawn.clean_mv,
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
