"""A synthetic twin of the six Challenge 2020 training archives.

Same tree as ``python -m ecgtricks.download`` (``DEST/<source>/<name>.hea|.mat``), same record
names (the archives' own, gaps included; a deterministic subset of them below scale 1), the
sources' sampling rates, lengths and header dialects, and labels drawn so that every code's count
per source is the challenge's table count times the scale (exact at scale 1). Signals come from
the physiological model of :mod:`ecgtricks.synth.ecg`, so each scored class is visible.

What is taken from the real data and what is chosen here:

| per source | from | value |
| --- | --- | --- |
| record count, names, sampling rate | archives, paper's split.json | :mod:`ecgtricks.data.sources` |
| label counts, equivalent-code habits, unscored codes | ``dx_mapping_*.csv`` | ``tables/dx_counts_2020.csv`` |
| lengths | archives | CPSC/CPSC-Extra 6-60 s (median 13 s), INCART 30 min, PTB 30-120 s, PTB-XL 10 s, Georgia 10 s (2 % 5 s) |
| header dialect | the shared real headers | 2020 (dated record line, ``16+24 1000/mV``, ``#Dx:``); half of PTB-XL and Georgia in the 2021 dialect (``16x1+24 1000.0(0)/mV``, ``# Dx:``); PTB and PTB-XL write ``mv``; 10 % of Georgia ages ``NaN`` |
| mains | country of recording | 50 Hz, Georgia (USA) 60 Hz |
| noise, wander, amplitude scale | chosen here | :data:`PROFILES`: levels that differ by source, as recording setups do |

Co-occurrence: labels are allocated code by code (rhythms first), each code to exactly its count
of records, preferring records by affinities a cardiologist would expect (:data:`AFFINITY`: a
second rhythm, both codes of an equivalent pair, opposite axis deviations or two bundle branch
blocks are rare; LAnFB goes with LAD, AF with bundle branch blocks, TAb with LQT ...) and records
that have no label yet.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtricks.data.sources import SOURCES, dx_counts
from ecgtricks.synth import ecg as m
from ecgtricks.synth.writer import write_record
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import atomic_write_json

TWIN_VERSION = 1
MANIFEST = "twin.json"


@dataclass(frozen=True)
class Profile:
    """How one source's recordings differ (mV unless named otherwise)."""

    lengths: str  # "cpsc" | "incart" | "ptb" | "10s" | "georgia": see :func:`_duration`
    mains_hz: float
    mains_mv: tuple[float, float]
    mains_share: float  # records with visible mains interference
    white_mv: tuple[float, float]
    wander_mv: tuple[float, float]
    emg_share: float  # records with muscle-noise bursts
    amplitude: tuple[float, float]  # overall gain of the heart's signal
    dialect_2021: float  # share of headers in the 2021 dialect
    unit: str  # "mV" or "mv" in the header's gain field
    timestamp: str  # the 2020 dialect's record-line date and time
    age: tuple[float, float]  # mean, sd
    age_nan: float
    male: float


PROFILES: dict[str, Profile] = {
    "cpsc": Profile("cpsc", 50.0, (0.01, 0.04), 0.2, (0.008, 0.02), (0.05, 0.2), 0.1, (0.9, 1.3),
                    0.0, "mV", "12-May-2020 12:33:59", (60.0, 19.0), 0.0, 0.54),
    "cpsc_extra": Profile("cpsc", 50.0, (0.01, 0.04), 0.25, (0.01, 0.025), (0.05, 0.25), 0.15,
                          (0.85, 1.25), 0.0, "mV", "15-May-2020 15:35:30", (63.0, 18.0), 0.0, 0.53),
    "incart": Profile("incart", 50.0, (0.01, 0.03), 0.3, (0.01, 0.03), (0.1, 0.3), 0.4, (0.7, 1.0),
                      0.0, "mV", "15-May-2020 15:22:05", (58.0, 13.0), 0.0, 0.6),
    "ptb": Profile("ptb", 50.0, (0.005, 0.02), 0.2, (0.004, 0.01), (0.03, 0.12), 0.05, (1.0, 1.4),
                   0.0, "mv", "15-May-2020 15:22:05", (57.0, 13.0), 0.0, 0.72),
    "ptbxl": Profile("10s", 50.0, (0.01, 0.03), 0.15, (0.01, 0.02), (0.04, 0.15), 0.1, (0.8, 1.1),
                     0.5, "mv", "04-Jun-2020 15:11:55", (60.0, 17.0), 0.0, 0.52),
    "georgia": Profile("georgia", 60.0, (0.02, 0.06), 0.5, (0.012, 0.03), (0.08, 0.3), 0.2, (0.9, 1.2),
                       0.5, "mV", "05-May-2020 14:50:55", (61.0, 16.0), 0.1, 0.54),
}

RHYTHMS = frozenset({m.NSR, m.SB, m.STACH, m.AF, m.AFL, m.PACING, m.BRADY, m.SA})
_PAIRS = ((m.CRBBB, m.RBBB), (m.PAC, m.SVPB), (m.PVC, m.VPB))

# (code a, code b): how much more (or less) likely b goes to a record already labelled a.
AFFINITY: dict[tuple[str, str], float] = {
    **{(a, b): 0.01 for a, b in _PAIRS}, **{(b, a): 0.01 for a, b in _PAIRS},
    **{(a, b): 0.02 for a in RHYTHMS for b in RHYTHMS if a != b},
    (m.NSR, m.SA): 3.0, (m.SB, m.SA): 3.0, (m.SA, m.NSR): 3.0, (m.SA, m.SB): 3.0,
    (m.SB, m.BRADY): 1.0, (m.BRADY, m.SB): 1.0, (m.AF, m.AFL): 0.3, (m.AFL, m.AF): 0.3,
    (m.LAD, m.RAD): 0.01, (m.RAD, m.LAD): 0.01,
    **{(a, b): 0.02 for a in (m.RBBB, m.CRBBB, m.IRBBB) for b in (m.LBBB,)},
    **{(b, a): 0.02 for a in (m.RBBB, m.CRBBB, m.IRBBB) for b in (m.LBBB,)},
    **{(m.IRBBB, b): 0.02 for b in (m.RBBB, m.CRBBB)}, **{(b, m.IRBBB): 0.02 for b in (m.RBBB, m.CRBBB)},
    **{(a, b): 0.05 for a in (m.AF, m.AFL, m.PACING) for b in (m.IAVB, m.LPR, m.PAC, m.SVPB)},
    **{(b, a): 0.05 for a in (m.AF, m.AFL, m.PACING) for b in (m.IAVB, m.LPR, m.PAC, m.SVPB)},
    **{(m.PACING, b): 0.1 for b in (m.RBBB, m.CRBBB, m.LBBB, m.IRBBB, m.LANFB, m.QAB)},
    (m.LAD, m.LANFB): 10.0, (m.LANFB, m.LAD): 10.0, (m.RAD, m.LANFB): 0.01, (m.LANFB, m.RAD): 0.01,
    (m.RBBB, m.LANFB): 3.0, (m.CRBBB, m.LANFB): 3.0, (m.AF, m.RBBB): 1.5, (m.AF, m.CRBBB): 1.5,
    (m.AF, m.LBBB): 1.5, (m.NSR, m.TAB): 1.5, (m.NSR, m.LAD): 1.3, (m.TAB, m.LQT): 2.0,
    (m.QAB, m.TINV): 2.0, (m.TINV, m.QAB): 2.0, (m.LQRSV, m.QAB): 1.5,
}


# A record with no label yet is this many times likelier to get the next code; the few left with
# none at the end take a label from a multi-label record (every real record has one).
EMPTY_BOOST = 4.0


@dataclass(frozen=True)
class TwinRecord:
    source: str
    name: str
    labels: tuple[str, ...]


def allocate_labels(rng: np.random.Generator, n: int, targets: dict[str, int]) -> list[tuple[str, ...]]:
    """Label sets for ``n`` records in which code ``c`` occurs exactly ``min(targets[c], n)`` times.

    Codes go out one at a time (rhythms first, then by count): each to the records with the largest
    ``log(weight) + Gumbel noise`` (a weighted draw without replacement), the weight being the product
    of :data:`AFFINITY` with the labels a record already has, times :data:`EMPTY_BOOST` for a record with no label
    (50 for a rhythm to a record without one). Records left with none then take one label each from
    a multi-label record.
    """
    codes = sorted((c for c, k in targets.items() if k > 0), key=lambda c: (c not in RHYTHMS, -targets[c], c))
    index = {c: i for i, c in enumerate(codes)}
    log_affinity = np.zeros((len(codes), len(codes)))
    for (a, b), factor in AFFINITY.items():
        if a in index and b in index:
            log_affinity[index[a], index[b]] = np.log(factor)
    rhythm_cols = np.array([c in RHYTHMS for c in codes])
    has = np.zeros((n, len(codes)), dtype=bool)
    for j, code in enumerate(codes):
        k = min(targets[code], n)
        score = has @ log_affinity[:, j]
        score += np.where(has.any(axis=1), 0.0, np.log(EMPTY_BOOST))
        if code in RHYTHMS:
            score += np.where(has[:, rhythm_cols].any(axis=1), 0.0, np.log(50.0))
        score += rng.gumbel(size=n)
        has[np.argpartition(-score, k - 1)[:k], j] = True
    empty = np.flatnonzero(~has.any(axis=1))
    donors = rng.permutation(np.flatnonzero(has.sum(axis=1) > 1))[: len(empty)]
    for record, donor in zip(empty, donors, strict=False):
        moved = rng.choice(np.flatnonzero(has[donor]))
        has[donor, moved], has[record, moved] = False, True
    rows, cols = np.nonzero(has)
    out: list[list[str]] = [[] for _ in range(n)]
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        out[r].append(codes[c])
    return [tuple(labels) for labels in out]


def plan(scale: float, seed: int = 0, sources: Sequence[str] | None = None) -> list[TwinRecord]:
    """Every record of a twin: which names, with which labels (deterministic for scale and seed)."""
    if not 0 < scale <= 1:
        raise ECGTricksError(f"--scale must be in (0, 1], got {scale}")
    keys = list(sources or SOURCES)
    counts = dx_counts()
    records: list[TwinRecord] = []
    for i, key in enumerate(keys):
        source = SOURCES[key]
        rng = np.random.default_rng([seed, TWIN_VERSION, i])
        names = source.names()
        n = len(names) if scale == 1 else max(1, int(round(scale * len(names))))
        chosen = sorted(rng.choice(len(names), size=n, replace=False)) if n < len(names) else range(len(names))
        expected = {d.code: d.per_source[key] * n / source.records for d in counts}
        # Scale 1 keeps the table counts; below, unbiased rounding keeps rare codes at their rate.
        targets = {c: int(np.floor(x) + (rng.random() < x - np.floor(x))) for c, x in expected.items()}
        labels = allocate_labels(rng, n, targets)
        records += [TwinRecord(key, names[j], labels[r]) for r, j in enumerate(chosen)]
    return records


def _duration(rng: np.random.Generator, kind: str) -> float:
    if kind == "cpsc":
        return float(np.clip(np.exp(rng.normal(np.log(13.0), 0.45)), 6.0, 60.0))
    if kind == "incart":
        return 1800.0
    if kind == "ptb":
        return float(rng.uniform(100.0, 120.0) if rng.random() < 0.7 else rng.uniform(30.0, 100.0))
    if kind == "georgia":
        return 5.0 if rng.random() < 0.02 else 10.0
    return 10.0


def record_rng(seed: int, record: TwinRecord) -> np.random.Generator:
    """The generator of one record's signal and demographics: a function of (seed, record) only."""
    source = SOURCES[record.source]
    number = int(record.name[len(source.prefix):])
    return np.random.default_rng([seed, TWIN_VERSION, list(SOURCES).index(record.source), number])


def write_twin_record(dest: Path, seed: int, record: TwinRecord) -> int:
    """Generate and write one record; returns its bytes on disk."""
    rng = record_rng(seed, record)
    source, profile = SOURCES[record.source], PROFILES[record.source]
    u = rng.uniform
    noise = m.NoiseProfile(
        white_mv=u(*profile.white_mv), wander_mv=u(*profile.wander_mv), mains_hz=profile.mains_hz,
        mains_mv=u(*profile.mains_mv) if rng.random() < profile.mains_share else 0.0,
        emg_mv=u(0.01, 0.04) if rng.random() < profile.emg_share else 0.0,
    )
    ecg = m.generate_ecg(rng, record.labels, fs=source.fs, duration_s=_duration(rng, profile.lengths),
                         amplitude=u(*profile.amplitude), noise=noise)
    age = None if rng.random() < profile.age_nan else float(np.clip(rng.normal(*profile.age), 18, 95))
    sex = "Male" if rng.random() < profile.male else "Female"
    dialect = "2021" if rng.random() < profile.dialect_2021 else "2020"
    return write_record(dest / record.source / record.name, ecg.signal_mv, source.fs, record.labels,
                        age=age, sex=sex, dialect=dialect, unit=profile.unit, timestamp=profile.timestamp)


def _write_many(dest: str, seed: int, records: list[TwinRecord]) -> tuple[int, int]:
    return len(records), sum(write_twin_record(Path(dest), seed, r) for r in records)


def _chunks(records: list[TwinRecord], size: int) -> Iterator[list[TwinRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def synthesize(dest: Path, scale: float = 1.0, seed: int = 0, *, workers: int | None = None,
               sources: Sequence[str] | None = None, progress: bool = True) -> dict:
    """Write the twin into ``dest``; records already written (their ``.hea`` exists) are kept, so an
    interrupted run finishes the rest. Returns the summary also stored in ``dest/twin.json``."""
    from tqdm import tqdm

    started = time.perf_counter()
    dest = Path(dest)
    keys = list(sources or SOURCES)
    identity = {"version": TWIN_VERSION, "scale": scale, "seed": seed, "sources": keys}
    manifest = dest / MANIFEST
    if manifest.is_file():
        old = json.loads(manifest.read_text())
        if {k: old.get(k) for k in identity} != identity:
            raise ECGTricksError(
                f"{dest} holds a twin of {({k: old.get(k) for k in identity})}, not {identity}: "
                "choose another DEST (nothing was changed)")
    records = plan(scale, seed, keys)
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_json(manifest, {**identity, "complete": False})
    done = {(key, p.name[:-4]) for key in keys if (dest / key).is_dir()
            for p in os.scandir(dest / key) if p.name.endswith(".hea")}
    todo = [r for r in records if (r.source, r.name) not in done]
    # Longest first: the 30-minute INCART records should not be the last ones a worker holds.
    todo.sort(key=lambda r: -SOURCES[r.source].fs * (1800 if r.source == "incart" else 1))
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) // 64 or 1))
    written_bytes = 0
    with tqdm(total=len(records), initial=len(records) - len(todo), unit="rec", desc="synthesize",
              disable=not progress) as bar:
        if workers == 1:
            for chunk in _chunks(todo, 64):
                count, size = _write_many(str(dest), seed, chunk)
                written_bytes += size
                bar.update(count)
        else:
            with ProcessPoolExecutor(workers) as pool:
                futures = [pool.submit(_write_many, str(dest), seed, c) for c in _chunks(todo, 64)]
                for future in futures:
                    count, size = future.result()
                    written_bytes += size
                    bar.update(count)
    total_bytes = sum(p.stat().st_size for key in keys for p in (dest / key).iterdir() if p.suffix in (".hea", ".mat"))
    from ecgtricks.scoring.labels import SCORED_AS

    present = {SCORED_AS[c] for r in records for c in r.labels if c in SCORED_AS}
    summary = {
        **identity, "complete": True, "records": len(records), "written": len(todo),
        "per_source": {k: sum(r.source == k for r in records) for k in keys},
        "scored_classes": len(present), "bytes": total_bytes,
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(manifest, summary)
    return summary
