"""A synthetic twin of the Challenge training archives: the six of 2020, or the eight of 2021.

Same tree as ``python -m ecgtricks.download [--edition 2021]`` (``DEST/<source>/<name>.hea|.mat``),
same record names (the archives' own, gaps included; a deterministic subset of them below scale 1),
the sources' sampling rates, lengths and header dialects, and labels drawn so that every code's
count per source is the challenge's table count times the scale (exact at scale 1). Signals come
from the physiological model of :mod:`ecgtricks.synth.ecg`, so each scored class of the edition is
visible. Unscored diagnoses are shown by the nearest sign the model has (:data:`LOOKALIKES`:
an infarction's Q waves, an ischaemia's inverted T ...) without that sign's label, and the labels
are noisy (:data:`LABEL_MISSING_SIGN`, :data:`LABEL_UNLABELLED_SIGN`), as the archives' are.
Noise, gain and the person-to-person variability of the beat (:mod:`ecgtricks.synth.ecg.variability`)
are fitted to the shared real records (``docs/twin-calibration.md``).

What is taken from the real data and what is chosen here:

| per source | from | value |
| --- | --- | --- |
| record count, names, sampling rate | archives, paper's split.json | :mod:`ecgtricks.data.sources` |
| label counts, equivalent-code habits, unscored codes | ``dx_mapping_*.csv`` | ``tables/dx_counts_2020.csv``, ``dx_counts_2021.csv`` |
| lengths | archives | CPSC/CPSC-Extra 6-60 s (median 13 s), INCART 30 min, PTB 30-120 s, PTB-XL 10 s, Georgia 10 s (2 % 5 s), Chapman-Shaoxing and Ningbo 10 s |
| header dialect | the shared real headers | 2020 (dated record line, ``16+24 1000/mV``, ``#Dx:``); half of PTB-XL and Georgia and two thirds of Ningbo in the 2021 dialect (``16x1+24 1000.0(0)/mV``, ``# Dx:``); PTB and PTB-XL write ``mv``; 10 % of Georgia ages ``NaN`` |
| mains | country of recording | 50 Hz, Georgia (USA) 60 Hz |
| noise, wander, amplitude scale | measured on the shared real records of each source (``scripts/twin_vs_real.py``; INCART has none there) | :data:`PROFILES`: levels that differ by source, as recording setups do |

The two 2021 sources' :data:`PROFILES` are measured on the 40 real records of the shared samples
(``JS00001``-``JS00011``: 10 of Chapman-Shaoxing, JS00003 is not among them; ``JS20000``-``JS20019``
and ``JS45542``-``JS45551``: 30 of Ningbo), read with wfdb; figures are 10th / 50th / 90th
percentiles over the records. The same measures on the twin's records (scale 0.01: 102, and 200 of 349)
give white 0.002 / 0.004 / 0.005 and 0.004 / 0.007 / 0.010 mV, wander 0.09 / 0.17 / 0.28 and
0.07 / 0.18 / 0.30 mV, largest limb lead 0.87 / 1.36 / 1.97 and 1.19 / 1.77 / 2.59 mV, a 50 Hz
line in 0 % and 17 %, dead chest leads in 0 % and 18 %.

| measured | Chapman-Shaoxing (10) | Ningbo (30) | the twin draws |
| --- | --- | --- | --- |
| length, rate | 10 s at 500 Hz, all | 10 s at 500 Hz, all | 10 s, 500 Hz |
| header | 10/10 2020 dialect, dated ``23-Mar-2021 20:20:47`` ... | 10/30 2020 dialect (``29-Mar-2021 11:17:48`` ...), 20/30 2021 dialect | Chapman 2020 dialect; Ningbo 2/3 in the 2021 dialect |
| first value, checksum fields | the first sample and the 16-bit sum, every lead | same | same (:mod:`.writer`) |
| age, sex | 45-85, mean 61 (sd 15); 5/10 male | 5-89, mean 64 (sd 25.5), 2 children; 19/30 male | normal(61, 15) in 18-95, 50 % male; normal(64, 25.5) in 5-95, 63 % male |
| white noise (robust sd of the second difference / sqrt 6; 0.003 is the 4.88 uV grid most samples sit on) | 0.003 / 0.003 / 0.006 mV | 0.003 / 0.006 / 0.012 mV | sd 0.001-0.005; 0.002-0.01 mV |
| baseline wander (median over leads of the peak-to-peak below 0.7 Hz) | 0.10 / 0.16 / 0.41 mV | 0.05 / 0.15 / 0.35 mV | 0.03-0.25 mV, both |
| QRS size (1-40 Hz peak-to-peak, largest limb / chest lead) | 0.73 / 0.88 / 1.06; 1.99 / 2.22 / 4.71 mV | 0.89 / 1.69 / 2.41; 2.72 / 3.91 / 6.58 mV | gain 0.7-0.95; 1.0-1.2 (the model's own is ~1.7 / 2.3 mV at gain 1; kept within the other sources' 0.7-1.4 so that low and normal voltage stay apart) |
| mains (50 Hz sinusoid fitted per lead) | 0/10 above 0.005 mV | 7/30 with 0.015-0.18 mV (5/30 a clear line) | none; 20 % of records, 0.015-0.15 mV |
| dead leads (all samples 0) | 0/10 | 5/30: chest leads V2, V4, V6 (2), V1-V6, V2-V6, V4-V6 | none; 1 in 6 records, those patterns |

Co-occurrence: labels are allocated code by code (rhythms first), each code to exactly its count
of records, preferring records by affinities a cardiologist would expect (:data:`AFFINITY`: a
second rhythm, both codes of an equivalent pair, opposite axis deviations or two bundle branch
blocks are rare; LAnFB goes with LAD, AF with bundle branch blocks, TAb with LQT, PAC with STach ...) and records
that have no label yet. 2021 (:data:`AFFINITY_2021`) adds CLBBB as LBBB's equivalent (LBBB's
affinities, rare with LBBB as the other pairs are), BBB and CLBBB never with another bundle
branch block (:data:`EXCLUDED`), PRWP with anterior Q waves and clockwise rotation, and counts
the unscored rhythms (SVT, atrial tachycardia ...) as rhythms (:data:`RHYTHMS_2021`):
Chapman-Shaoxing's rhythm counts add up to its 10,247 records, one rhythm each.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from ecgtricks.data.sources import EDITION_SOURCES, SOURCES, SOURCES_2021, Source, dx_counts
from ecgtricks.synth import ecg as m
from ecgtricks.synth.writer import write_record
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import atomic_write_json

TWIN_VERSION = 6  # 2: noise, gain and variability fitted to real records; label noise.
# 3: rhythm timing, sinus rates, normal T per lead; PAC with STach; unlabelled sinus rates
# 4: TAb mostly a low normal T, as labelled; 5: a normal T under 0.6 x its lead's QRS
# 6: an open frontal QRS loop, a wider normal axis, a narrower normal QRS
# Each record's random stream as version 3 drew it: a later version changes what a record
# shows, not the draws it starts from, so that two versions differ by their changes alone (a
# new draw of 4,310 records moves a model's real-record figures as much as a change does).
_RECORD_STREAM = 3
_LABEL_STREAM = 1  # the random stream of the labels (and record subsets), as by version 1
_SIDE_STREAM = 6  # what later versions draw besides (the QRS loop, version 6)
MANIFEST = "twin.json"
EDITIONS = (2020, 2021)


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
    age_min: float = 18.0  # ages are drawn within age_min-95
    dead_chest: float = 0.0  # records whose chest leads are partly recorded as all zeros
    labels_sinus_rate: bool = True  # False: SB / STach are not labelled (CPSC, INCART, PTB)


PROFILES: dict[str, Profile] = {
    # 2020 sources: white noise, wander and gain re-fitted to the shared real records of each
    # source (docs/twin-calibration.md; INCART has none there: the other sources' middle).
    "cpsc": Profile("cpsc", 50.0, (0.01, 0.04), 0.2, (0.001, 0.009), (0.02, 0.07), 0.05, (0.56, 0.78),
                    0.0, "mV", "12-May-2020 12:33:59", (60.0, 19.0), 0.0, 0.54, labels_sinus_rate=False),
    "cpsc_extra": Profile("cpsc", 50.0, (0.01, 0.04), 0.25, (0.001, 0.004), (0.02, 0.1), 0.05,
                          (0.56, 0.78), 0.0, "mV", "15-May-2020 15:35:30", (63.0, 18.0), 0.0, 0.53),
    "incart": Profile("incart", 50.0, (0.01, 0.03), 0.3, (0.002, 0.008), (0.05, 0.25), 0.2, (0.56, 0.8),
                      0.0, "mV", "15-May-2020 15:22:05", (58.0, 13.0), 0.0, 0.6, labels_sinus_rate=False),
    "ptb": Profile("ptb", 50.0, (0.005, 0.02), 0.2, (0.003, 0.009), (0.2, 1.0), 0.05, (0.48, 0.7),
                   0.0, "mv", "15-May-2020 15:22:05", (57.0, 13.0), 0.0, 0.72, labels_sinus_rate=False),
    "ptbxl": Profile("10s", 50.0, (0.01, 0.03), 0.15, (0.0008, 0.002), (0.08, 0.3), 0.05, (0.62, 0.84),
                     0.5, "mv", "04-Jun-2020 15:11:55", (60.0, 17.0), 0.0, 0.52),
    "georgia": Profile("georgia", 60.0, (0.02, 0.06), 0.5, (0.002, 0.006), (0.03, 0.18), 0.1, (0.72, 0.96),
                       0.5, "mV", "05-May-2020 14:50:55", (61.0, 16.0), 0.1, 0.54),
    # 2021: measured on the shared JS records (module docstring)
    "chapman_shaoxing": Profile("10s", 50.0, (0.015, 0.05), 0.0, (0.001, 0.005), (0.03, 0.25), 0.1,
                                (0.7, 0.95), 0.0, "mV", "23-Mar-2021 20:20:47", (61.0, 15.0), 0.0,
                                0.5),
    "ningbo": Profile("10s", 50.0, (0.015, 0.15), 0.2, (0.002, 0.01), (0.03, 0.25), 0.1, (1.0, 1.2),
                      2 / 3, "mV", "29-Mar-2021 11:17:48", (64.0, 25.5), 0.0, 0.63, age_min=5.0,
                      dead_chest=1 / 6),
}
# Ningbo's dead chest leads as the shared records show them (lead indices, V1 = 6), and how often.
DEAD_CHEST_PATTERNS = ((7, 9, 11), (6, 7, 8, 9, 10, 11), (7, 8, 9, 10, 11), (9, 10, 11))
DEAD_CHEST_SHARES = (0.4, 0.2, 0.2, 0.2)

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
    # PACs come with a fast sinus rhythm: 16 of the 20 real PAC records of the shared samples are
    # STach (26 of all 120)
    (m.STACH, m.PAC): 3.0, (m.STACH, m.SVPB): 3.0,
}


# 2021: the three new scored codes, and the unscored rhythms of the new sources (one rhythm per
# record: Chapman-Shaoxing's scored rhythms, 9,508, and these, 739, make its 10,247 records).
SVT, ATACH, AVNRT, AVRT, SAAWR = "426761007", "713422000", "251166008", "233897008", "17366009"
RHYTHMS_2021 = RHYTHMS | frozenset({
    SVT, ATACH, AVNRT, AVRT, SAAWR,
    "233892002",  # accelerated atrial escape rhythm
    "61277005",  # accelerated idioventricular rhythm
    "426664006",  # accelerated junctional rhythm
    "106068003",  # atrial rhythm
    "29320008",  # atrioventricular junctional rhythm
    "426648003",  # junctional tachycardia
    "81898007",  # ventricular escape rhythm
    "164896001",  # ventricular fibrillation
    "111288001",  # ventricular flutter
    "195101003",  # wandering atrial pacemaker
})
EXCLUDED = 1e-6  # "never": a record is taken only if no other is left (Gumbel tail ~ 1e-6)
_RIGHT = (m.RBBB, m.CRBBB, m.IRBBB)
_CLOCKWISE = ("251198002", "61721007")  # clockwise rotation; clockwise or counterclockwise


def _affinity_2021() -> dict[tuple[str, str], float]:
    """:data:`AFFINITY` plus the rules of the codes 2021 adds (and its rhythm set)."""
    rules = dict(AFFINITY)
    rules.update({(a, b): 0.02 for a in RHYTHMS_2021 for b in RHYTHMS_2021
                  if a != b and (a, b) not in AFFINITY})
    # CLBBB is LBBB's equivalent: LBBB's affinities, and rare together as the other pairs are
    for (a, b), factor in AFFINITY.items():
        if a == m.LBBB:
            rules[(m.CLBBB, b)] = factor
        if b == m.LBBB:
            rules[(a, m.CLBBB)] = factor
    rules[(m.LBBB, m.CLBBB)] = rules[(m.CLBBB, m.LBBB)] = 0.01
    # BBB (side unspecified) and CLBBB go with no other bundle branch block
    for other in (m.LBBB, m.CLBBB, *_RIGHT):
        rules[(m.BBB, other)] = rules[(other, m.BBB)] = EXCLUDED
    for other in _RIGHT:
        rules[(m.CLBBB, other)] = rules[(other, m.CLBBB)] = EXCLUDED
    rules[(m.PACING, m.BBB)] = 0.1
    rules[(m.AF, m.BBB)] = 1.5
    # poor R-wave progression: anterior infarction (Q waves), clockwise rotation
    rules[(m.PRWP, m.QAB)] = rules[(m.QAB, m.PRWP)] = 2.0
    for code in _CLOCKWISE:
        rules[(m.PRWP, code)] = rules[(code, m.PRWP)] = 3.0
    return rules


AFFINITY_2021: dict[tuple[str, str], float] = _affinity_2021()
_RULES = {2020: (AFFINITY, RHYTHMS), 2021: (AFFINITY_2021, RHYTHMS_2021)}


# A record with no label yet is this many times likelier to get the next code; the few left with
# none at the end take a label from a multi-label record (every real record has one).
EMPTY_BOOST = 4.0


@dataclass(frozen=True)
class TwinRecord:
    source: str
    name: str
    labels: tuple[str, ...]


def allocate_labels(rng: np.random.Generator, n: int, targets: dict[str, int],
                    affinity: dict[tuple[str, str], float] | None = None,
                    rhythms: frozenset[str] = RHYTHMS) -> list[tuple[str, ...]]:
    """Label sets for ``n`` records in which code ``c`` occurs exactly ``min(targets[c], n)`` times.

    Codes go out one at a time (rhythms first, then by count): each to the records with the largest
    ``log(weight) + Gumbel noise`` (a weighted draw without replacement), the weight being the product
    of ``affinity`` (:data:`AFFINITY`; 2021: :data:`AFFINITY_2021`) with the labels a record already
    has, times :data:`EMPTY_BOOST` for a record with no label (50 for a rhythm to a record without
    one). Records left with none then take one label each from a multi-label record.
    """
    affinity = AFFINITY if affinity is None else affinity
    codes = sorted((c for c, k in targets.items() if k > 0), key=lambda c: (c not in rhythms, -targets[c], c))
    index = {c: i for i, c in enumerate(codes)}
    log_affinity = np.zeros((len(codes), len(codes)))
    for (a, b), factor in affinity.items():
        if a in index and b in index:
            log_affinity[index[a], index[b]] = np.log(factor)
    rhythm_cols = np.array([c in rhythms for c in codes])
    has = np.zeros((n, len(codes)), dtype=bool)
    for j, code in enumerate(codes):
        k = min(targets[code], n)
        score = has @ log_affinity[:, j]
        score += np.where(has.any(axis=1), 0.0, np.log(EMPTY_BOOST))
        if code in rhythms:
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


def edition_sources(edition: int = 2020) -> dict[str, Source]:
    """The sources of an edition's training set (:data:`ecgtricks.data.sources.EDITION_SOURCES`)."""
    if edition not in EDITIONS:
        raise ECGTricksError(f"--edition must be one of {', '.join(map(str, EDITIONS))}, got {edition}")
    return EDITION_SOURCES[edition]


def _source_keys(sources: Sequence[str] | None, edition: int) -> list[str]:
    table = edition_sources(edition)
    keys = list(sources or table)
    unknown = [k for k in keys if k not in table]
    if unknown:
        raise ECGTricksError(f"no source {', '.join(unknown)} in the {edition} training set: "
                             f"its sources are {', '.join(table)}")
    return keys


def _rounded(rng: np.random.Generator, x: float) -> int:
    return int(np.floor(x) + (rng.random() < x - np.floor(x)))


def plan(scale: float, seed: int = 0, sources: Sequence[str] | None = None,
         edition: int = 2020) -> list[TwinRecord]:
    """Every record of a twin: which names, with which labels (deterministic for scale and seed).

    2021 rounds the codes of the 2020 table from each source's stream in 2020's order, and the
    codes 2021 adds from a stream of their own, so that the six sources draw as in 2020; what
    changes there is the allocation's rules (:data:`AFFINITY_2021`, :data:`RHYTHMS_2021`).
    """
    if not 0 < scale <= 1:
        raise ECGTricksError(f"--scale must be in (0, 1], got {scale}")
    table = edition_sources(edition)
    keys = _source_keys(sources, edition)
    counts = dx_counts(edition)
    by_code = {d.code: d for d in counts}
    first = [d.code for d in dx_counts(2020) if d.code in by_code]  # 2020's draws, in its order
    added = [d.code for d in counts if d.code not in set(first)]
    affinity, rhythms = _RULES[edition]
    records: list[TwinRecord] = []
    for i, key in enumerate(keys):
        source = table[key]
        rng = np.random.default_rng([seed, _LABEL_STREAM, i])
        names = source.names()
        n = len(names) if scale == 1 else max(1, int(round(scale * len(names))))
        chosen = sorted(rng.choice(len(names), size=n, replace=False)) if n < len(names) else range(len(names))
        expected = {c: by_code[c].per_source[key] * n / source.records for c in first + added}
        # Scale 1 keeps the table counts; below, unbiased rounding keeps rare codes at their rate.
        targets = {c: _rounded(rng, expected[c]) for c in first}
        if added:
            own = np.random.default_rng([seed, _LABEL_STREAM, i, edition])
            targets.update({c: _rounded(own, expected[c]) for c in added})
        labels = allocate_labels(rng, n, targets, affinity, rhythms)
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


# Record streams are seeded on the source's place in the 2021 table, whose first six are 2020's
# in 2020's order: a 2020 record draws exactly as before editions existed.
_STREAM_INDEX = {key: i for i, key in enumerate(SOURCES_2021)}
assert list(_STREAM_INDEX)[: len(SOURCES)] == list(SOURCES)


def record_rng(seed: int, record: TwinRecord, stream: int = _RECORD_STREAM) -> np.random.Generator:
    """The generator of one record's signal and demographics (or, with ``stream``, of its side
    draws): a function of (seed, record) only."""
    source = SOURCES_2021[record.source]
    number = int(record.name[len(source.prefix):])
    return np.random.default_rng([seed, stream, _STREAM_INDEX[record.source], number])


@cache
def _model_codes() -> frozenset[str]:
    """The codes the ECG model draws as themselves: the scored ones of either edition (a 2020
    record labelled with 2021's BBB shows a bundle branch block, scored or not)."""
    return frozenset(d.code for e in EDITIONS for d in dx_counts(e) if d.scored)


# Unscored diagnoses the model has no class for, shown by the nearest sign it has. The header
# keeps the diagnosis and does not name the sign: a PTB-XL infarction shows Q waves without a
# QAb label, as in the archives. The most frequent unscored codes of dx_mapping_unscored.csv
# (2020: myocardial infarction 6,021 records, LVH 3,759, NSSTTA 3,554, ischaemia 2,559, ST
# depression 1,977, ventricular ectopics 1,944 ...); codes without a sign the model can show
# (abnormal QRS, atrial enlargement, WPW ...) are written only.
LOOKALIKES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("164865005", "164867002", "54329005"), (m.QAB,)),  # MI, old MI, anterior MI
    # nonspecific ST-T abnormality, ST interval abnormal, ST changes, ST depression
    **dict.fromkeys(("428750005", "164930006", "55930002", "429622005"), (m.TAB,)),
    # ischaemia: myocardial, lateral, inferior, anterior, chronic
    **dict.fromkeys(("164861001", "425623009", "425419005", "426434006", "413844008"), (m.TINV,)),
    **dict.fromkeys(("164884008", "11157007"), (m.PVC,)),  # ventricular ectopics, bigeminy
    "251120003": (m.NSIVCB,),  # incomplete LBBB: a QRS of 110-120 ms
    **dict.fromkeys(("445211001", "89792004"), (m.RAD,)),  # LPFB, RVH: right axis
    # SVT, atrial, paroxysmal supraventricular and junctional tachycardia: a fast rhythm
    **dict.fromkeys(("426761007", "713422000", "67198005", "426648003"), (m.STACH,)),
    **dict.fromkeys(("425856008", "164895002"), (m.STACH, m.BBB)),  # VT: fast and wide
    "233917008": (m.IAVB,),  # AV block
}
LVH = "164873001"  # left ventricular hypertrophy: tall chest voltages, a strain T in some
ST_ELEVATION = ("164931005", "428417006")  # ST elevation, early repolarisation


def drawn_signs(labels: Sequence[str]) -> list[str]:
    """What the signal of a record with these labels shows, before label noise: the codes the
    model draws as themselves, then the signs of unscored diagnoses (:data:`LOOKALIKES`)."""
    codes = _model_codes()
    shown = [c for c in labels if c in codes]
    for code in labels:
        shown += [s for s in LOOKALIKES.get(code, ()) if s not in shown]
    return shown


# Baseline wander's tail: 5 of the 120 real records wander by more than 1 mV (3 by more than 2;
# a PTB record by 6.3 mV), beyond any source's usual range (wander_mv, docs/twin-calibration.md).
WANDER_TAIL_SHARE, WANDER_TAIL_MV = 0.03, (1.0, 6.0)

# Electrode motion (0.5-8 Hz): sized so that beats differ from their median beat as much as on
# the real records (beat_corr, docs/twin-calibration.md).
MOTION_MV = (0.01, 0.08)

# Label noise: how often a record's signal and its labels disagree. On the shared real records,
# 12 of 79 labels of the classes a measure can check (rate: NSR, SB, STach; axis: LAD; voltage:
# LQRSV) disagree with the measure (15 %; docs/twin-calibration.md). Some of that is the
# measure's error, so each label's finding is left out of the signal with a probability of 10 %,
# and 5 % of records show a scored finding that no label names.
LABEL_MISSING_SIGN = 0.1  # per label: its finding is not in the signal
LABEL_UNLABELLED_SIGN = 0.05  # per record: the signal shows a finding no label names


@cache
def _prevalence(source: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The findings the model draws that this source's records carry, weighted by their counts
    in the 2021 table (every source's; the same for either edition, so that a record's signal
    does not depend on which edition scores it). Sinus rhythm, the normal reference, is none."""
    rows = [(d.code, d.per_source.get(source, 0)) for d in dx_counts(2021)
            if d.code in _model_codes() and d.code != m.NSR]
    rows = [(c, n) for c, n in rows if n > 0]
    codes, counts = zip(*rows, strict=True)
    return codes, np.asarray(counts, dtype=float) / sum(counts)


def shown_codes(rng: np.random.Generator, labels: list[str], source: str) -> list[str]:
    """The codes the signal shows: the labels, less missing signs, plus perhaps an unlabelled one
    (:data:`LABEL_MISSING_SIGN`, :data:`LABEL_UNLABELLED_SIGN`). The header keeps the labels."""
    keep = rng.random(len(labels)) >= LABEL_MISSING_SIGN
    shown = [code for code, k in zip(labels, keep, strict=True) if k]
    if rng.random() < LABEL_UNLABELLED_SIGN:
        codes, weights = _prevalence(source)
        extra = str(codes[int(rng.choice(len(codes), p=weights))])
        if extra not in shown:
            shown.append(extra)
    return shown


@cache
def _sinus_rate_shares() -> tuple[float, float]:
    """Shares of SB and STach among the sinus-rate labels (NSR, SB, STach) of the 2020 sources
    that write them: what a source that writes none of them leaves unlabelled."""
    labelling = [k for k in SOURCES if PROFILES[k].labels_sinus_rate]
    n = {d.code: sum(d.per_source.get(k, 0) for k in labelling) for d in dx_counts(2020)}
    total = n[m.NSR] + n[m.SB] + n[m.STACH]
    return n[m.SB] / total, n[m.STACH] / total


def unlabelled_sinus_rate(rng: np.random.Generator, labels: Sequence[str], shown: Sequence[str],
                          source: str) -> str | None:
    """SB or STach for a record of a source that labels no sinus rate (CPSC, INCART, PTB) and
    whose labels name no rhythm, at the shares other sources label them; else None."""
    if PROFILES[source].labels_sinus_rate or (set(labels) | set(shown)) & RHYTHMS_2021:
        return None
    sb, stach = _sinus_rate_shares()
    r = rng.random()
    return m.SB if r < sb else m.STACH if r < sb + stach else None


def write_twin_record(dest: Path, seed: int, record: TwinRecord, edition: int = 2020) -> int:
    """Generate and write one record; returns its bytes on disk."""
    rng = record_rng(seed, record)
    source, profile = edition_sources(edition)[record.source], PROFILES[record.source]
    u = rng.uniform
    white = m.log_uniform(rng, *profile.white_mv)  # spans a decade
    wander = u(*profile.wander_mv)
    if rng.random() < WANDER_TAIL_SHARE:  # a drifting electrode
        wander = m.log_uniform(rng, *WANDER_TAIL_MV)
    noise = m.NoiseProfile(
        white_mv=white, wander_mv=wander, mains_hz=profile.mains_hz,
        mains_mv=u(*profile.mains_mv) if rng.random() < profile.mains_share else 0.0,
        emg_mv=u(0.01, 0.04) if rng.random() < profile.emg_share else 0.0,
        motion_mv=m.log_uniform(rng, *MOTION_MV),
    )
    shown = shown_codes(rng, drawn_signs(record.labels), record.source)
    rate = unlabelled_sinus_rate(rng, record.labels, shown, record.source)
    if rate is not None:
        shown.append(rate)
    variability = m.draw_variability(rng, side=record_rng(seed, record, _SIDE_STREAM))
    if LVH in record.labels:  # tall chest voltages (and a strain T in 40 %)
        gains = np.asarray(variability.lead_gain) * np.r_[1.0, 1.0, np.full(6, u(1.4, 1.9))]
        variability = replace(variability, lead_gain=tuple(float(g) for g in gains))
        if rng.random() < 0.4 and m.TAB not in shown:
            shown.append(m.TAB)
    if set(ST_ELEVATION) & set(record.labels):
        variability = replace(variability, st_v2_mv=float(u(0.15, 0.3)))
    ecg = m.generate_ecg(rng, shown, fs=source.fs, duration_s=_duration(rng, profile.lengths),
                         amplitude=u(*profile.amplitude), noise=noise, variability=variability)
    age = None if rng.random() < profile.age_nan else float(
        np.clip(rng.normal(*profile.age), profile.age_min, 95))
    sex = "Male" if rng.random() < profile.male else "Female"
    dialect = "2021" if rng.random() < profile.dialect_2021 else "2020"
    signal = ecg.signal_mv
    if profile.dead_chest and rng.random() < profile.dead_chest:  # (no draw for other sources)
        signal = signal.copy()
        signal[list(DEAD_CHEST_PATTERNS[rng.choice(len(DEAD_CHEST_PATTERNS), p=DEAD_CHEST_SHARES)])] = 0.0
    return write_record(dest / record.source / record.name, signal, source.fs, record.labels,
                        age=age, sex=sex, dialect=dialect, unit=profile.unit, timestamp=profile.timestamp)


def _write_many(dest: str, seed: int, records: list[TwinRecord], edition: int = 2020) -> tuple[int, int]:
    return len(records), sum(write_twin_record(Path(dest), seed, r, edition) for r in records)


def _chunks(records: list[TwinRecord], size: int) -> Iterator[list[TwinRecord]]:
    for start in range(0, len(records), size):
        yield records[start : start + size]


def _identity(manifest: dict) -> dict:
    """What makes a twin: a ``twin.json`` without ``edition`` is a 2020 twin (written so before
    editions existed, and still for 2020, so that a 2020 twin's files stay as they were)."""
    return {"version": manifest.get("version"), "scale": manifest.get("scale"),
            "seed": manifest.get("seed"), "sources": manifest.get("sources"),
            "edition": manifest.get("edition", 2020)}


def synthesize(dest: Path, scale: float = 1.0, seed: int = 0, *, workers: int | None = None,
               sources: Sequence[str] | None = None, progress: bool = True,
               edition: int = 2020) -> dict:
    """Write the twin into ``dest``; records already written (their ``.hea`` exists) are kept, so an
    interrupted run finishes the rest. Returns the summary also stored in ``dest/twin.json``."""
    from tqdm import tqdm

    from ecgtricks.scoring.editions import edition as scorer_edition

    started = time.perf_counter()
    dest = Path(dest)
    table = edition_sources(edition)
    keys = _source_keys(sources, edition)
    identity = {"version": TWIN_VERSION, "scale": scale, "seed": seed, "sources": keys}
    if edition != 2020:
        identity["edition"] = edition
    manifest = dest / MANIFEST
    if manifest.is_file():
        old = _identity(json.loads(manifest.read_text()))
        if old != _identity(identity):
            raise ECGTricksError(
                f"{dest} holds a twin of {old}, not {_identity(identity)}: "
                "choose another DEST (nothing was changed)")
    records = plan(scale, seed, keys, edition)
    dest.mkdir(parents=True, exist_ok=True)
    atomic_write_json(manifest, {**identity, "complete": False})
    done = {(key, p.name[:-4]) for key in keys if (dest / key).is_dir()
            for p in os.scandir(dest / key) if p.name.endswith(".hea")}
    todo = [r for r in records if (r.source, r.name) not in done]
    # Longest first: the 30-minute INCART records should not be the last ones a worker holds.
    todo.sort(key=lambda r: -table[r.source].fs * (1800 if r.source == "incart" else 1))
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) // 64 or 1))
    written_bytes = 0
    with tqdm(total=len(records), initial=len(records) - len(todo), unit="rec", desc="synthesize",
              disable=not progress) as bar:
        if workers == 1:
            for chunk in _chunks(todo, 64):
                count, size = _write_many(str(dest), seed, chunk, edition)
                written_bytes += size
                bar.update(count)
        else:
            with ProcessPoolExecutor(workers) as pool:
                futures = [pool.submit(_write_many, str(dest), seed, c, edition) for c in _chunks(todo, 64)]
                for future in futures:
                    count, size = future.result()
                    written_bytes += size
                    bar.update(count)
    total_bytes = sum(p.stat().st_size for key in keys for p in (dest / key).iterdir() if p.suffix in (".hea", ".mat"))
    scored_as = scorer_edition(edition).scored_as
    present = {scored_as[c] for r in records for c in r.labels if c in scored_as}
    summary = {
        **identity, "complete": True, "records": len(records), "written": len(todo),
        "per_source": {k: sum(r.source == k for r in records) for k in keys},
        "scored_classes": len(present), "bytes": total_bytes,
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic_write_json(manifest, summary)
    return summary
