"""What a population of records looks like: the measures the twin is calibrated against.

The twin is judged on real ECGs by *populations*, never by fitting a record: each measure below is
taken per record, on real records and on twin records alike, and compared as percentiles per
source (``scripts/twin_vs_real.py``; the figures in ``docs/twin-calibration.md``). Every measure
is a plain array operation on the 12 leads resampled to 500 Hz:

| measure | how |
| --- | --- |
| ``white_mv`` | robust sd of the second difference / sqrt(6), median over leads (sensor noise) |
| ``wander_mv`` | peak-to-peak below 0.7 Hz, median over leads (baseline wander) |
| ``hr_bpm``, ``rr_cv`` | from QRS complexes found on the multi-lead slope envelope |
| ``early_share``, ``min_rr_ratio``, ``min_rr_s`` | premature beats: the share of RR intervals under 85 % of the median RR, the shortest RR against the median, and in seconds |
| ``qrs_<lead>_mv`` | peak-to-peak of the median beat within 60 ms of the QRS (1-40 Hz) |
| ``t_<lead>_mv`` | the median beat's signed T peak, 0.16-0.42 s after the QRS, over the PR baseline |
| ``st_<lead>_mv`` | the median beat 100 ms after the QRS peak, over the PR baseline |
| ``qrs_ms`` | width of the median beat's QRS: where its spatial slope (summed over leads) stays above 20 % of its peak, within 120 ms of the QRS peak |
| ``axis_deg`` | the frontal QRS axis from the median beat's net QRS area in I and aVF |
| ``beat_corr`` | median correlation of each beat with the median beat (all leads): beat-to-beat change |
| ``qrs_cv`` | coefficient of variation of the beats' QRS size in the largest lead |
| ``p_<lead>_mv`` | peak-to-peak of the median beat 250-90 ms before the QRS peak (the P wave; in AF the f waves' residue) |
| ``q_<lead>_mv``, ``q_<lead>_ratio`` | the median beat's deepest dip before its R (within 50 ms), and its share of that R |
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from scipy import signal as sps

FS = 500.0
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_REPORTED = ("I", "II", "aVL", "V1", "V2", "V4", "V6")
_PRE, _POST = 0.3, 0.5  # beat window around the QRS peak (s)


def _resample(x: np.ndarray, fs: float) -> np.ndarray:
    if round(fs) == FS:
        return x.astype(np.float64)
    from fractions import Fraction

    ratio = Fraction(FS / fs).limit_denominator(1000)
    return sps.resample_poly(x.astype(np.float64), ratio.numerator, ratio.denominator, axis=-1)


def find_qrs(x: np.ndarray, fs: float = FS) -> np.ndarray:
    """QRS peaks: maxima (0.25 s apart) of the smoothed multi-lead slope of the 5-25 Hz band that
    reach 30 % of a typical complex's slope."""
    sos = sps.butter(2, [5.0, 25.0], btype="bandpass", fs=fs, output="sos")
    e = np.abs(np.diff(sps.sosfiltfilt(sos, x, axis=-1), axis=-1)).sum(0)
    w = int(0.06 * fs)
    e = np.convolve(e, np.ones(w) / w, mode="same")
    peaks, props = sps.find_peaks(e, distance=int(0.25 * fs), height=0.1 * np.percentile(e, 99.5))
    if peaks.size == 0:
        return peaks
    typical = np.median(props["peak_heights"])
    return peaks[props["peak_heights"] > 0.3 * typical]


def record_measures(signal_mv: np.ndarray, fs: float) -> dict[str, float]:
    """The measures of one 12-lead record (mV, leads in :data:`LEADS` order)."""
    x = _resample(np.nan_to_num(signal_mv), fs)
    out: dict[str, float] = {}
    d2 = np.diff(x, n=2, axis=-1)
    mad = np.median(np.abs(d2 - np.median(d2, axis=-1, keepdims=True)), axis=-1) * 1.4826
    out["white_mv"] = float(np.median(mad) / np.sqrt(6))
    low = sps.sosfiltfilt(sps.butter(2, 0.7, fs=FS, output="sos"), x, axis=-1)
    out["wander_mv"] = float(np.median(np.ptp(low, axis=-1)))
    band = sps.sosfiltfilt(sps.butter(2, [1.0, 40.0], btype="bandpass", fs=FS, output="sos"), x, axis=-1)
    peaks = find_qrs(band)
    pre, post = int(_PRE * FS), int(_POST * FS)
    peaks = peaks[(peaks >= pre) & (peaks < x.shape[1] - post)]
    if peaks.size < 3:
        return out
    rr = np.diff(peaks) / FS
    out["hr_bpm"] = float(60.0 / np.median(rr))
    out["rr_cv"] = float(rr.std() / rr.mean())
    out["early_share"] = float((rr < 0.85 * np.median(rr)).mean())
    out["min_rr_ratio"] = float(rr.min() / np.median(rr))
    out["min_rr_s"] = float(rr.min())
    beats = band[:, peaks[:, None] + np.arange(-pre, post)[None, :]]  # (12, beats, L)
    beats = np.transpose(beats, (1, 0, 2))  # (beats, 12, L)
    # Baseline: the PR segment, 80-40 ms before the peak.
    base = beats[:, :, pre - int(0.08 * FS): pre - int(0.04 * FS)].mean(-1, keepdims=True)
    beats = beats - base
    med = np.median(beats, axis=0)  # (12, L)
    q0, q1 = pre - int(0.06 * FS), pre + int(0.06 * FS)
    qrs = med[:, q0:q1]
    p2p = np.ptp(qrs, axis=-1)
    t_win = med[:, pre + int(0.16 * FS): pre + int(0.42 * FS)]
    t_peak = t_win[np.arange(12), np.abs(t_win).argmax(-1)]
    st = med[:, pre + int(0.10 * FS)]
    for lead in _REPORTED:
        i = LEADS.index(lead)
        out[f"qrs_{lead}_mv"] = float(p2p[i])
        out[f"t_{lead}_mv"] = float(t_peak[i])
        out[f"st_{lead}_mv"] = float(st[i])
    p_size = np.ptp(med[:, pre - int(0.25 * FS): pre - int(0.09 * FS)], axis=-1)
    for lead in _REPORTED:
        out[f"p_{lead}_mv"] = float(p_size[LEADS.index(lead)])
    near = med[:, pre - int(0.05 * FS): pre + int(0.05 * FS)]
    r_at = near.argmax(-1)
    before = np.where(np.arange(near.shape[1])[None, :] < r_at[:, None], near, np.inf)
    q_depth = np.clip(-before.min(-1), 0.0, None)
    q_depth[r_at == 0] = 0.0
    for lead in ("III", "aVL", "V6"):
        i = LEADS.index(lead)
        out[f"q_{lead}_mv"] = float(q_depth[i])
        out[f"q_{lead}_ratio"] = float(q_depth[i] / max(near[i, r_at[i]], 1e-3))
    slope = np.abs(np.diff(med[:, pre - int(0.12 * FS): pre + int(0.12 * FS)], axis=-1)).sum(0)
    above = np.flatnonzero(slope > 0.2 * slope.max())
    out["qrs_ms"] = float((above[-1] - above[0]) / FS * 1000.0)
    out["qrs_limb_max_mv"] = float(p2p[:6].max())
    out["qrs_chest_max_mv"] = float(p2p[6:].max())
    area = qrs.sum(-1)
    out["axis_deg"] = float(np.degrees(np.arctan2(area[5], area[0])))
    flat = beats.reshape(beats.shape[0], -1)
    ref = med.reshape(-1)
    flat = flat - flat.mean(-1, keepdims=True)
    ref = ref - ref.mean()
    corr = flat @ ref / (np.linalg.norm(flat, axis=-1) * np.linalg.norm(ref) + 1e-12)
    out["beat_corr"] = float(np.median(corr))
    big = int(p2p.argmax())
    sizes = np.ptp(beats[:, big, q0:q1], axis=-1)
    out["qrs_cv"] = float(sizes.std() / max(sizes.mean(), 1e-9))
    return out


Measured = dict[str, list[tuple[tuple[str, ...], dict[str, float]]]]


def measure_folder(root: str | Path, per_source: int | None = None, having: str | None = None
                   ) -> Measured:
    """Per source (:func:`ecgtricks.data.record.infer_source`), each record's (labels, measures),
    records in name order; at most ``per_source`` of a source; with ``having``, only records
    labelled with that code."""
    from ecgtricks.data.record import find_records, infer_source, read_record

    rows: Measured = defaultdict(list)
    for path in find_records(root):
        source = infer_source(path)
        if per_source is not None and len(rows[source]) >= per_source:
            continue
        rec = read_record(path)
        if having is not None and having not in rec.labels:
            continue
        order = [rec.lead_names.index(lead) for lead in LEADS]
        rows[source].append((rec.labels, record_measures(rec.signal[order], rec.fs)))
    return dict(rows)


def percentiles(rows: Iterable[Mapping[str, float]], qs: tuple[float, ...] = (10, 50, 90)
                ) -> dict[str, tuple[float, ...]]:
    """Per measure, its percentiles over the records that have it."""
    rows = list(rows)
    keys = sorted({k for r in rows for k in r}, key=_order)
    return {k: tuple(float(v) for v in np.percentile([r[k] for r in rows if k in r], qs)) for k in keys}


def _order(key: str) -> tuple[int, str]:
    first = ("white_mv", "wander_mv", "hr_bpm", "rr_cv", "early_share", "min_rr_ratio", "min_rr_s",
             "qrs_ms", "axis_deg", "beat_corr", "qrs_cv")
    return (first.index(key), key) if key in first else (len(first), key)


# Labels a measure can check, and what the measure should then show (a margin of 2 bpm / 5
# degrees / 0.05 mV beyond the definition, for the measure's own error).
LABEL_CHECKS: dict[str, tuple[str, float, float]] = {
    "426783006": ("hr_bpm", 58.0, 102.0),  # NSR: 60-100 bpm
    "426177001": ("hr_bpm", 0.0, 62.0),  # SB: < 60 bpm
    "427084000": ("hr_bpm", 98.0, np.inf),  # STach: > 100 bpm
    "39732003": ("axis_deg", -180.0, -25.0),  # LAD: < -30 degrees
    "251146004": ("qrs_limb_max_mv", 0.0, 0.55),  # LQRSV: every limb lead < 0.5 mV
}


def label_agreement(records: Iterable[tuple[Iterable[str], Mapping[str, float]]]
                    ) -> dict[str, tuple[int, int]]:
    """Per checkable code (:data:`LABEL_CHECKS`): (records labelled with it, of which the measure
    disagrees). A rough bound on label noise: some disagreements are the measure's."""
    counts = {code: [0, 0] for code in LABEL_CHECKS}
    for labels, measures in records:
        for code in set(labels) & set(LABEL_CHECKS):
            key, lo, hi = LABEL_CHECKS[code]
            if key not in measures:
                continue
            counts[code][0] += 1
            counts[code][1] += not lo <= measures[key] <= hi
    return {code: (n, bad) for code, (n, bad) in counts.items()}
