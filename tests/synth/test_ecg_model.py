"""The 12-lead ECG model: every class is measured from the samples alone.

The generator's ``truth`` is never the measurement; it only lines detected beats up with the
true ones (``match``) and names the codes of a record. The measurements, per class:

* beats and rate (all classes, SB/STach/Brady/NSR, 30 s at 257 and 1000 Hz): NeuroKit2
  (``ecg_clean`` + ``ecg_peaks(method="neurokit")``) on lead II, rectified (its detector takes
  the most prominent local maximum, which a QS complex or an inverted PVC lacks); every true
  beat found once, nothing else (no T, P or flutter wave counted);
* templates: a plain multi-lead QRS detector (``qrs_detect``, slope envelope + Pan-Tompkins'
  T-wave rule) anchors a median beat of the dominant beats (aligned by cross-correlation),
  after a 0.05-100 Hz band-pass and a baseline through the PR segments;
* RR regularity (NSR, AFL < 0.06; AF > 0.1) and the respiratory pattern of SA (a 2.5-7 s
  sinusoid fitted to the RR series, max - min RR > 12 %);
* P waves (sinus, IAVB, LPR; absent in AF): the last prominent hump of the spatial magnitude
  before the QRS, and how much of the pre-QRS signal is locked to the QRS across beats;
  PR from that hump's onset to the QRS onset;
* AF: f-wave peak at 5-9 Hz in V1 after average-beat (QRST) cancellation; AFL: the atrial rate
  (the multiple of the ventricular rate whose spectral line and its harmonic stand out, 4-5.7
  Hz, 2:1 or 4:1) and no isoelectric line (no flat 80 ms anywhere in II, III, aVF, V1);
* QRS duration from the multi-lead slope envelope (6 % of its peak, quiet 10/20 ms); V1's
  terminal R' (RBBB, IRBBB, BBB) or QS/rS (LBBB, CLBBB); slurred S in I/V6; septal q; qR/rS
  for LAnFB; R-wave progression (the R of V1-V4, PRWP); frontal axis from the net QRS area of I
  and aVF (Einthoven-scaled);
* QT by the tangent method on the lead with the largest T (QTc with the mean RR); T
  amplitudes, flat or biphasic T, inverted T in contiguous leads; pathological Q waves (first
  wave negative, 40 ms wide or a quarter of the R deep, or QS) in contiguous leads;
  limb/chest QRS peak-to-peak;
* premature beats from onset-to-onset intervals: narrow and like the template (PAC) or wide
  and unlike it (PVC), the pause after them, and the atrial activity before them (the signal
  minus what normal beats leave behind at the same delay): an abnormal P for a PAC, none for
  a PVC;
* pacing: stimuli from the raw signal's one-sample jumps (height, width, a QRS after each,
  their regularity), paced QRS from stimulus to QRS end;
* realism over random multi-label records, Einthoven, determinism, noise spectra.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import neurokit2 as nk
import numpy as np
import pytest
from scipy import signal as sps

from ecgtricks.scoring.editions import edition
from ecgtricks.scoring.labels import ALL_SCORED_CODES
from ecgtricks.synth import ecg as em
from ecgtricks.synth.ecg import (
    CLASS_DEFINITIONS,
    ECG,
    NoiseProfile,
    definitions_markdown,
    generate_ecg,
)

LI, II, III, AVR, AVL, AVF, V1, V2, V3, V4, V5, V6 = range(12)
INDEPENDENT = [LI, II, V1, V2, V3, V4, V5, V6]
FS = 500.0
MODEST = NoiseProfile(white_mv=0.01, wander_mv=0.05)
SEEDS = range(5)


# ---------------------------------------------------------------------------------------------
# Measurement toolkit (independent of the generator)


def bandpass(x: np.ndarray, fs: float, lo: float = 0.05, hi: float = 100.0) -> np.ndarray:
    """Zero-phase Butterworth over the diagnostic band. A 0.5 Hz high-pass would pull the
    baseline around a large monophasic complex (a PVC) by a tenth of a millivolt; at 0.05 Hz,
    Gustafsson's initial conditions keep a record that starts inside a QRS from ringing."""
    b, a = sps.butter(2, lo, btype="highpass", fs=fs)
    x = sps.filtfilt(b, a, x, axis=-1, method="gust")
    sos = sps.butter(2, min(hi, 0.4 * fs), btype="lowpass", fs=fs, output="sos")
    return sps.sosfiltfilt(sos, x, axis=-1)


def find_spikes(raw: np.ndarray) -> np.ndarray:
    """Samples where some lead jumps by more than 0.75 mV in one sample (no QRS is that steep)."""
    jump = np.abs(np.diff(raw, axis=-1)).max(axis=0)
    onsets = np.flatnonzero(jump > 0.75)
    return onsets[np.diff(onsets, prepend=-10) > 3] + 1


def remove_spikes(raw: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    out = raw.copy()
    if spikes.size:
        bad = np.unique(np.concatenate([spikes + k for k in range(-2, 3)]))
        bad = bad[(bad >= 0) & (bad < raw.shape[1])]
        good = np.setdiff1d(np.arange(raw.shape[1]), bad)
        for lead in range(raw.shape[0]):
            out[lead, bad] = np.interp(bad, good, raw[lead, good])
    return out


def r_peaks(raw: np.ndarray, fs: float) -> np.ndarray:
    """NeuroKit2's R peaks on lead II (its cleaning, its detector), rectified."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cleaned = nk.ecg_clean(raw[II], sampling_rate=int(round(fs)), method="neurokit")
        _, info = nk.ecg_peaks(np.abs(cleaned), sampling_rate=int(round(fs)), method="neurokit")
    return np.asarray(info["ECG_R_Peaks"], dtype=int)


def qrs_detect(raw: np.ndarray, fs: float) -> np.ndarray:
    """A plain multi-lead QRS detector that anchors the beat templates.

    Peaks (0.2 s apart) of the multi-lead slope envelope of the 1-30 Hz band, smoothed over
    80 ms, at least 35 % as steep as a typical QRS (a wide PVC is half as steep, a T wave a
    quarter, a P wave a tenth; "typical": the median of the peaks within 30 % of the 90th
    percentile, so that a few large PVCs do not set it), and Pan-Tompkins' T-wave rule: a peak
    within 0.38 s after a QRS and less than 0.6 times as steep, or within 0.55 s and less than
    0.4 times as steep, is its T wave (within 0.3 s before one and less than half as steep, its
    P wave). Unlike NeuroKit's 0.75 s adaptive threshold it does not take a wave far from
    any QRS (a long-QT T wave, a P wave in a long diastole) for a beat.
    """
    sos = sps.butter(2, [1.0, min(30.0, 0.4 * fs)], btype="bandpass", fs=fs, output="sos")
    e = np.abs(np.gradient(sps.sosfiltfilt(sos, raw[INDEPENDENT], axis=-1), axis=-1)).sum(0)
    w = max(1, int(0.08 * fs))  # one peak per QRS, even a wide one with two humps
    e = np.convolve(e, np.ones(w) / w, mode="same")
    found, props = sps.find_peaks(e, distance=int(0.2 * fs), height=0.05 * e.max())
    steep = props["peak_heights"]
    typical = np.median(steep[steep >= 0.3 * np.percentile(steep, 90)])
    found, steep = found[steep > 0.35 * typical], steep[steep > 0.35 * typical]
    keep: list[int] = []
    for i, f in enumerate(found):
        after = (f - found[keep[-1]]) / fs if keep else np.inf
        ratio = steep[i] / steep[keep[-1]] if keep else np.inf
        if (after < 0.38 and ratio < 0.6) or (after < 0.55 and ratio < 0.4):
            continue  # a T wave (a PVC, 0.4 s or more after the beat before, is steeper)
        if (i + 1 < len(found) and found[i + 1] - f < 0.3 * fs
                and steep[i] < 0.5 * steep[i + 1]):
            continue  # a P wave: just before a QRS twice as steep
        keep.append(i)
    return found[keep]


def match(truth: dict, found: np.ndarray, fs: float, n: int) -> tuple[int, int]:
    """Missed and extra beats. A detection belongs to a true beat from 60 ms before its QRS
    onset (a pacing stimulus) to 100 ms after its R peak. NeuroKit ignores its first 0.3 s, so
    the first 0.6 s and the last 0.35 s are left out."""
    lo, hi = int(0.6 * fs), n - int(0.35 * fs)
    starts = truth["qrs_onsets"] - int(0.06 * fs)
    stops = truth["r_peaks"] + int(0.1 * fs)

    def hit(d: int) -> bool:
        return bool(((starts <= d) & (d <= stops)).any())

    missed = sum(not ((found >= a) & (found <= b)).any()
                 for a, b, r in zip(starts, stops, truth["r_peaks"], strict=True) if lo <= r < hi)
    extra = sum(not hit(int(d)) for d in found if lo <= d < hi)
    return int(missed), int(extra)


def slope_envelope(x: np.ndarray, fs: float) -> np.ndarray:
    e = np.abs(np.gradient(x[INDEPENDENT], axis=-1) * fs).sum(axis=0)
    w = max(1, int(round(0.008 * fs)))
    return np.convolve(e, np.ones(w) / w, mode="same")


def _quiet(mask: np.ndarray, start: int, step: int, run: int) -> int:
    """First index from start (walking by step) that begins a run of `run` True samples."""
    i = start
    while 0 <= i < len(mask):
        j = i + step * (run - 1)
        if 0 <= j < len(mask) and mask[min(i, j): max(i, j) + 1].all():
            return i
        i += step
    return int(np.clip(i - step, 0, len(mask) - 1))


def qrs_bounds(beat: np.ndarray, fs: float, centre: int,
               onset_quiet: float = 0.01) -> tuple[int, int]:
    """QRS onset and end: the slope envelope stays under 6 % of its peak (or 2.5 x its noise
    floor, for a small slow QRS) for 10 ms before and 20 ms after (a slurred terminal S or R'
    may pause briefly in every lead at once)."""
    e = slope_envelope(beat, fs)
    peak = e[centre - int(0.1 * fs): centre + int(0.12 * fs)].max()
    quiet = e < max(0.06 * peak, 2.5 * float(np.percentile(e, 10)))
    onset = _quiet(quiet, centre, -1, max(2, int(round(onset_quiet * fs))))
    end = _quiet(quiet, centre, +1, max(3, int(round(0.02 * fs))))
    return onset, end


def baseline(beat: np.ndarray, fs: float, onset: int) -> np.ndarray:
    """The isoelectric level: the PR segment just before the QRS."""
    return beat[:, onset - int(0.016 * fs): onset - int(0.006 * fs) + 1].mean(axis=1)


@dataclass
class Measurement:
    raw: np.ndarray
    x: np.ndarray  # band-passed, spikes removed
    fs: float
    detected: np.ndarray  # NeuroKit R peaks
    peaks: np.ndarray  # the multi-lead detector's (templates, premature beats)
    fid: np.ndarray  # aligned fiducials (max multi-lead slope)
    rr: np.ndarray
    spikes: np.ndarray
    template: np.ndarray  # 12 x L median beat of the dominant beats
    centre: int  # fiducial index in the template
    corr: np.ndarray  # per-beat QRS correlation with the template (beats with full windows)
    beat_index: np.ndarray  # which fid each template window came from
    onset: int
    end: int
    base: np.ndarray

    @property
    def nk_rr(self) -> np.ndarray:
        """NeuroKit's R-R intervals, away from the record's edges (where it is unreliable)."""
        n, fs = self.raw.shape[1], self.fs
        inner = self.detected[(self.detected >= 0.6 * fs) & (self.detected < n - 0.35 * fs)]
        return np.diff(inner) / fs

    @cached_property
    def onset_rr(self) -> np.ndarray:
        """QRS onset-to-onset intervals (s), each beat's onset its own (see _beat_bounds):
        prematurity is timed from where a QRS starts (a wide PVC's steepest point comes late).
        """
        a = int(0.5 * self.fs)
        onsets = [self.fid[k] - a + _beat_bounds(self, k)[0] for k in range(len(self.fid))]
        return np.diff(onsets) / self.fs

    @property
    def cv(self) -> float:
        """RR coefficient of variation over the whole record (the multi-lead detector's)."""
        return float(self.rr.std() / self.rr.mean())

    @property
    def qrs_ms(self) -> float:
        return 1000.0 * (self.end - self.onset) / self.fs

    def lead(self, k: int) -> np.ndarray:
        return self.template[k] - self.base[k]

    def qrs(self, k: int) -> np.ndarray:
        return self.lead(k)[self.onset: self.end + 1]

    @property
    def axis(self) -> float:
        net = np.array([self.qrs(k).sum() for k in range(12)])
        # aVF's lead vector is sqrt(3)/2 as long as lead I's (Einthoven's triangle)
        return float(np.degrees(np.arctan2(net[AVF] / (np.sqrt(3) / 2), net[LI])))

    def p_wave(self) -> tuple[float, float, int]:
        """(PR ms, P amplitude mV, P peak index): the last prominent hump of the spatial
        magnitude (20 ms smoothed) before the QRS; its onset where it falls to 12 % of the way
        from the level before it."""
        fs = self.fs
        mag = np.sqrt(sum(self.lead(k) ** 2 for k in INDEPENDENT))
        w = max(1, int(0.02 * fs))
        mag = np.convolve(mag, np.ones(w) / w, mode="same")
        lo, hi = max(1, self.onset - int(0.45 * fs)), self.onset - int(0.02 * fs)
        humps, props = sps.find_peaks(mag[lo:hi], height=0.03, prominence=0.015)
        humps = humps[props["prominences"] >= 0.5 * props["peak_heights"]]  # a wave, not a bump
        if humps.size == 0:
            return float("nan"), float(mag[lo:hi].max()), -1
        peak = lo + int(humps[-1])
        floor = mag[max(0, peak - int(0.2 * fs)): peak].min()
        below = mag < floor + 0.12 * (mag[peak] - floor)
        p_on = _quiet(below, peak, -1, max(2, int(0.006 * fs)))
        return 1000.0 * (self.onset - p_on) / fs, float(mag[peak]), peak

    def p_locking(self) -> float:
        """Share of the pre-QRS energy ([onset - 400 ms, onset - 30 ms], 8 leads) that is locked
        to the QRS: |mean beat|^2 / mean |beat|^2. A P wave is locked, f-waves are not."""
        off, a, b = self.centre - self.onset, int(0.4 * self.fs), int(0.03 * self.fs)
        wins = []
        for f in self.fid[self.beat_index[self.corr > min(0.9, np.median(self.corr) - 0.1)]]:
            if f - off - a >= 0:
                w = self.x[INDEPENDENT, f - off - a: f - off - b]
                wins.append(w - w.mean(axis=1, keepdims=True))
        stack = np.stack(wins)
        return float((stack.mean(axis=0) ** 2).sum() / (stack**2).sum(axis=(1, 2)).mean())

    def t_window(self) -> slice:
        """From 40 ms after the QRS to the next beat's P wave (or 85 % of the RR)."""
        rr = int(np.median(self.rr) * self.fs)
        stop = self.centre + int(0.85 * rr) - int(0.05 * self.fs)
        pr_ms, _, peak = self.p_wave()
        start = self.end + int(0.04 * self.fs)
        if peak > 0 and self.p_locking() > 0.5:  # a real P wave (not f-waves)
            p_stop = self.onset - int(pr_ms * self.fs / 1000) + rr - int(0.02 * self.fs)
            if p_stop > start + int(0.1 * self.fs):  # (at a fast rate the "P" may be the T)
                stop = min(stop, p_stop)
        return slice(start, min(stop, self.template.shape[1] - 1))

    def t_amp(self, k: int) -> float:
        """Signed T amplitude: the largest excursion from the baseline after the QRS."""
        seg = self.lead(k)[self.t_window()]
        return float(seg[np.argmax(np.abs(seg))])

    def qt_ms(self) -> float:
        """Tangent method on the lead (II, V2-V5) with the largest T (30 ms smoothed)."""
        k = max((II, V2, V3, V4, V5), key=lambda j: abs(self.t_amp(j)))
        win = self.t_window()
        w = max(1, int(0.03 * self.fs))  # the T is slow: smooth the noise out of its slope
        seg = np.convolve(self.lead(k), np.ones(w) / w, mode="same")[win]
        kp = int(np.argmax(np.abs(seg)))
        sign = np.sign(seg[kp])
        slope = np.gradient(seg) * sign
        ks = kp + int(np.argmin(slope[kp: kp + int(0.25 * self.fs)]))
        t_end = win.start + ks + (seg[ks] * sign) / -slope[ks]
        return 1000.0 * (t_end - self.onset) / self.fs

    def qtc_ms(self) -> float:
        """Bazett, with the mean RR (the usual choice for an irregular rhythm)."""
        return self.qt_ms() / np.sqrt(self.rr.mean())


def align(x: np.ndarray, fs: float, peaks: np.ndarray) -> np.ndarray:
    e = slope_envelope(x, fs)
    half = int(0.06 * fs)
    return np.array([max(0, p - half) + int(np.argmax(e[max(0, p - half): p + half]))
                     for p in peaks], dtype=int)


def measure(raw: np.ndarray, fs: float, pre: float = 0.5, post: float = 0.75) -> Measurement:
    raw = raw.astype(np.float64)
    spikes = find_spikes(raw)
    x = bandpass(remove_spikes(raw, spikes), fs)
    detected = r_peaks(raw, fs)
    peaks = qrs_detect(remove_spikes(raw, spikes), fs)
    fid = align(x, fs, peaks)
    a, b = int(pre * fs), int(post * fs)
    full = np.flatnonzero((fid - a >= 0) & (fid + b < x.shape[1]))
    qrs = slice(a - int(0.06 * fs), a + int(0.08 * fs))
    # Slope maxima can hop between two equal peaks (R and R', or a wide QRS's two humps); line
    # every beat up with a reference QRS by cross-correlation (+-100 ms), then keep the beats
    # that match the median.
    shift, q0, q1 = int(0.1 * fs), int(0.06 * fs), int(0.08 * fs)
    for _ in range(2):
        # the reference: the beat most like the others (a median of misaligned beats blurs)
        qrs_all = np.stack([x[:, f - q0: f + q1].ravel() for f in fid[full]])
        likeness = np.median(np.corrcoef(qrs_all), axis=1)
        ref = qrs_all[int(np.argmax(likeness))].reshape(x.shape[0], -1)
        for k in range(len(fid)):
            lags = [(float((x[:, fid[k] + d - q0: fid[k] + d + q1] * ref).sum()), d)
                    for d in range(-shift, shift + 1)
                    if fid[k] + d - q0 >= 0 and fid[k] + d + q1 <= x.shape[1]]
            if not lags:
                continue
            d = max(lags)[1]
            moved = x[:, fid[k] + d - q0: fid[k] + d + q1].ravel()
            if np.corrcoef(moved, ref.ravel())[0, 1] > 0.7:  # a different beat (PVC) stays
                fid[k] += d
        full = np.flatnonzero((fid - a >= 0) & (fid + b < x.shape[1]))
    full = np.flatnonzero((fid - a >= 0) & (fid + b < x.shape[1]))
    for second in (False, True):
        windows = np.stack([x[:, f - a: f + b] for f in fid[full]])
        keep = np.ones(len(windows), dtype=bool)
        for _ in range(2):
            ref = np.median(windows[keep][:, :, qrs], axis=0).ravel()
            corr = np.array([np.corrcoef(w[:, qrs].ravel(), ref)[0, 1] for w in windows])
            keep = corr > min(0.9, float(np.median(corr)) - 0.1)  # noise lowers a small QRS's
        template = np.median(windows[keep], axis=0)
        onset, end = qrs_bounds(template, fs, a)
        if end - onset > 0.3 * fs or onset < a - 0.3 * fs:
            # a small slow QRS (a low-voltage paced beat) drowns in the 100 Hz band's noise
            sos = sps.butter(2, 40.0, btype="lowpass", fs=fs, output="sos")
            onset, end = qrs_bounds(sps.sosfiltfilt(sos, template, axis=-1), fs, a)
        if not second:
            # Baseline wander out: a line through every beat's PR segment (the isoelectric
            # knots), or a small offset times the QRS length would tip its net area (the axis).
            knots = fid[full][keep] - (a - onset) - int(0.011 * fs)  # dominant beats only
            w = max(1, int(0.005 * fs))
            knots = knots[(knots >= w) & (knots < x.shape[1] - w)]
            level = np.array([x[:, max(0, k - w): k + w + 1].mean(axis=1) for k in knots]).T
            x = x - np.stack([np.interp(np.arange(x.shape[1]), knots, lv) for lv in level])
    rr = np.diff(peaks) / fs
    return Measurement(raw, x, fs, detected, peaks, fid, rr, spikes, template, a, corr, full,
                       onset, end, baseline(template, fs, onset))


@lru_cache(maxsize=512)
def record(codes: tuple[str, ...], seed: int, fs: float = FS, duration: float = 10.0,
           noise: NoiseProfile = MODEST) -> ECG:
    return generate_ecg(np.random.default_rng([seed, 2020]), codes, fs=fs, duration_s=duration,
                        noise=noise)


@lru_cache(maxsize=512)
def measured(codes: tuple[str, ...], seed: int, fs: float = FS,
             duration: float = 10.0) -> Measurement:
    return measure(record(codes, seed, fs, duration).signal_mv, fs)


def each(codes: tuple[str, ...], seeds=SEEDS):
    for seed in seeds:
        yield seed, measured(codes, seed)


# ---------------------------------------------------------------------------------------------
# Interface


@pytest.mark.parametrize("fs", [250.0, 257.0, 500.0, 1000.0])
def test_rate_length_dtype_and_labels(fs: float) -> None:
    labels = ["164889003", "59118001", "999999999"]
    ecg = generate_ecg(np.random.default_rng(1), iter(labels), fs=fs, duration_s=7.3)
    n = int(round(7.3 * fs))
    assert ecg.fs == fs and ecg.signal_mv.shape == (12, n) and ecg.clean_mv.shape == (12, n)
    assert ecg.signal_mv.dtype == np.float32 and ecg.clean_mv.dtype == np.float32
    assert ecg.labels == tuple(labels)
    t = ecg.truth
    for key in ("r_peaks", "beat_kinds", "heart_rate_bpm", "rr_s", "pr_ms", "qrs_ms", "qt_ms",
                "qtc_ms", "axis_deg", "p_waves", "rhythm"):
        assert key in t
    assert t["r_peaks"].dtype.kind == "i" and len(t["beat_kinds"]) == len(t["r_peaks"])
    assert ((t["r_peaks"] >= 0) & (t["r_peaks"] < n)).all()
    assert t["pr_ms"] is None and not t["p_waves"] and t["rhythm"] == "atrial fibrillation"


def test_einthoven_goldberger_exact_with_noise() -> None:
    noise = NoiseProfile(white_mv=0.03, wander_mv=0.2, mains_hz=60.0, mains_mv=0.05, emg_mv=0.05)
    for seed in range(5):
        ecg = generate_ecg(np.random.default_rng(seed), ["10370003", "164889003"], fs=500.0,
                           duration_s=6.0, noise=noise)
        for x in (ecg.signal_mv, ecg.clean_mv):
            i, ii = x[LI], x[II]
            np.testing.assert_array_equal(x[III], ii - i)
            np.testing.assert_array_equal(x[AVR], -(i + ii) / np.float32(2))
            np.testing.assert_array_equal(x[AVL], i - ii / np.float32(2))
            np.testing.assert_array_equal(x[AVF], ii - i / np.float32(2))


def test_deterministic_for_a_seed_and_unknown_codes_ignored() -> None:
    codes = ["426783006", "284470004", "164934002"]
    a = generate_ecg(np.random.default_rng(7), codes, fs=500.0, duration_s=10.0)
    b = generate_ecg(np.random.default_rng(7), codes, fs=500.0, duration_s=10.0)
    c = generate_ecg(np.random.default_rng(8), codes, fs=500.0, duration_s=10.0)
    d = generate_ecg(np.random.default_rng(7), [*codes, "55827005", "xyz"], fs=500.0,
                     duration_s=10.0)
    np.testing.assert_array_equal(a.signal_mv, b.signal_mv)
    np.testing.assert_array_equal(a.truth["r_peaks"], b.truth["r_peaks"])
    assert not np.array_equal(a.signal_mv, c.signal_mv)
    np.testing.assert_array_equal(a.signal_mv, d.signal_mv)


def test_amplitude_scales_every_wave() -> None:
    quiet = NoiseProfile(white_mv=0.0, wander_mv=0.0)
    one = generate_ecg(np.random.default_rng(3), ["10370003"], fs=500.0, duration_s=5.0,
                       noise=quiet)
    half = generate_ecg(np.random.default_rng(3), ["10370003"], fs=500.0, duration_s=5.0,
                        amplitude=0.5, noise=quiet)
    np.testing.assert_allclose(half.clean_mv, 0.5 * one.clean_mv, atol=1e-6)


def test_class_definitions_cover_the_30_codes_of_2020_and_2021() -> None:
    codes = sorted(d.code for d in CLASS_DEFINITIONS)
    assert codes == sorted(edition(2021).all_codes) and set(ALL_SCORED_CODES) <= set(codes)
    assert set(codes) - set(ALL_SCORED_CODES) == {em.BBB, em.CLBBB, em.PRWP}
    table = definitions_markdown().strip().splitlines()
    assert table[0] == "| class | code | generator | ranges |" and len(table) == 2 + 30
    assert all(line.count("|") == 5 for line in table)


def test_speed() -> None:
    """Budget: 25 ms for a 10 s, 500 Hz record on one core; 2 s for 30 minutes at 257 Hz."""
    codes = ["426783006", "427172004", "713427006", "164934002"]
    generate_ecg(np.random.default_rng(0), codes, fs=500.0, duration_s=10.0)
    times = []
    for seed in range(40):
        start = time.perf_counter()
        generate_ecg(np.random.default_rng(seed), codes, fs=500.0, duration_s=10.0)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    long = generate_ecg(np.random.default_rng(0), ["164889003", "427172004"], fs=257.0,
                        duration_s=1800.0)
    long_s = time.perf_counter() - start
    per_record_ms = 1000 * float(np.median(times))
    print(f"\nspeed: {per_record_ms:.1f} ms per 10 s 500 Hz record, "
          f"{long_s:.2f} s per 30 min 257 Hz record")
    assert long.signal_mv.shape == (12, 1800 * 257)
    assert per_record_ms <= 25.0 and long_s <= 2.0


# ---------------------------------------------------------------------------------------------
# Beats: NeuroKit2 finds exactly the true beats (no T or P waves counted)

ALL_CODES = [d.code for d in CLASS_DEFINITIONS]


@pytest.mark.parametrize("code", ALL_CODES)
def test_detected_beats_are_the_true_beats(code: str) -> None:
    for seed in SEEDS:
        ecg, m = record((code,), seed), measured((code,), seed)
        assert match(ecg.truth, m.detected, FS, ecg.signal_mv.shape[1]) == (0, 0), seed


@pytest.mark.parametrize("fs", [257.0, 1000.0])
@pytest.mark.parametrize("code", ["426783006", "426177001", "426627000", "164889003",
                                  "10370003", "164909002", "427172004", "251146004",
                                  "39732003", "111975006"])
def test_detected_beats_on_long_records(code: str, fs: float) -> None:
    for seed in range(2):
        ecg = record((code,), seed, fs, 30.0)
        found = r_peaks(ecg.signal_mv.astype(np.float64), fs)
        assert match(ecg.truth, found, fs, ecg.signal_mv.shape[1]) == (0, 0), seed


# ---------------------------------------------------------------------------------------------
# Rhythm


@pytest.mark.parametrize(("code", "low", "high"), [
    ("426783006", 60, 100), ("426177001", 30, 60), ("427084000", 100, 160),
    ("426627000", 30, 60), ("164889003", 60, 150), ("10370003", 59, 81)])
def test_heart_rate(code: str, low: float, high: float) -> None:
    for seed, m in each((code,)):
        rate = 60.0 / m.nk_rr.mean()
        assert low < rate < high, (seed, rate)


def test_rr_regularity() -> None:
    for code in ("426783006", "164890007"):  # (pacing: its stimuli, in the pacing test)
        for seed, m in each((code,)):
            assert m.cv < 0.06, (code, seed, m.cv)
    for seed, m in each(("164889003",)):
        assert m.cv > 0.1, (seed, m.cv)


def _respiratory_fit(m: Measurement) -> tuple[float, float]:
    """(max - min RR as a fraction of the mean, best variance share of a 3-6 s sinusoid)."""
    inner = m.detected[(m.detected >= 0.6 * m.fs) & (m.detected < m.raw.shape[1] - 0.35 * m.fs)]
    t = inner[1:] / m.fs
    rr = m.nk_rr - m.nk_rr.mean()
    best = 0.0
    for period in np.linspace(2.5, 7.0, 46):
        basis = np.stack([np.sin(2 * np.pi * t / period), np.cos(2 * np.pi * t / period)], 1)
        coef, *_ = np.linalg.lstsq(basis, rr, rcond=None)
        best = max(best, 1 - float(((rr - basis @ coef) ** 2).sum() / (rr**2).sum()))
    return float(np.ptp(m.nk_rr) / m.nk_rr.mean()), best


def test_sinus_arrhythmia_is_respiratory() -> None:
    for seed, m in each(("427393009",)):
        spread, share = _respiratory_fit(m)
        assert (spread > 0.12 or np.ptp(m.nk_rr) > 0.16) and share > 0.6, (seed, spread, share)
    for seed, m in each(("426783006",)):
        assert _respiratory_fit(m)[0] < 0.12, seed


def test_p_waves_present_in_sinus_absent_in_af() -> None:
    for code in ("426783006", "426177001", "270492004", "164947007", "713427006"):
        for seed, m in each((code,)):
            _, amp, _ = m.p_wave()
            assert amp > 0.05 and m.p_locking() > 0.6, (code, seed, amp, m.p_locking())
    # AF: the atrial activity before the QRS is not locked to it (flutter: see its own test)
    for seed, m in each(("164889003",)):
        assert m.p_locking() < 0.5, (seed, m.p_locking())


def _blanked(m: Measurement, lead: int) -> np.ndarray:
    """One lead with every QRS replaced by a straight line (the atrial activity remains)."""
    y = m.x[lead].copy()
    for f in m.fid:
        a, b = max(0, f - int(0.07 * m.fs)), min(len(y) - 1, f + int(0.09 * m.fs))
        y[a: b + 1] = np.linspace(y[a], y[b], b - a + 1)
    return y


def _spectral_peak(y: np.ndarray | list[np.ndarray], fs: float, lo: float,
                   hi: float) -> tuple[float, float]:
    """Peak frequency in [lo, hi] of the (summed) Welch spectra, and the share of the 3-12 Hz
    power within 0.6 Hz of it."""
    total = 0.0
    for one in y if isinstance(y, list) else [y]:
        f, p = sps.welch(one, fs=fs, nperseg=min(len(one), int(4 * fs)))
        total = total + p
    band = (f >= lo) & (f <= hi)
    peak = float(f[band][np.argmax(total[band])])
    wide = (f >= 3) & (f <= 12)
    return peak, float(total[wide & (np.abs(f - peak) <= 0.6)].sum() / total[wide].sum())


def _qrst_cancelled(m: Measurement, lead: int) -> np.ndarray:
    """One lead minus the median beat at every beat (average beat subtraction), which leaves
    the atrial activity that is not locked to the QRS."""
    y = m.x[lead].copy()
    a, n = m.centre, len(y)
    bounds = [*m.fid[1:], n + int(0.1 * m.fs)]
    for f, nxt in zip(m.fid, bounds, strict=True):
        lo = max(0, f - int(0.1 * m.fs), f - a)
        hi = min(n, nxt - int(0.1 * m.fs), f - a + m.template.shape[1])
        y[lo:hi] -= m.template[lead, lo - f + a: hi - f + a]
    return y[max(0, m.fid[0] - int(0.1 * m.fs)): m.fid[-1]]  # only where every beat is taken out


def test_fibrillation_waves_in_v1() -> None:
    for seed, m in each(("164889003",)):
        peak, share = _spectral_peak(_qrst_cancelled(m, V1), m.fs, 4.0, 12.0)
        assert 5.0 <= peak <= 9.0 and share > 0.4, (seed, peak, share)
    for seed, m in each(("426783006",)):
        assert _spectral_peak(_qrst_cancelled(m, V1), m.fs, 4.0, 12.0)[1] < 0.4, seed


def _flutter_leads(m: Measurement) -> list[np.ndarray]:
    """II, III, aVF and V1 with the QRS blanked and the slow T content (< 3 Hz) removed (flutter
    waves are locked to the QRS at 2:1 or 4:1, so they cannot be cancelled with the beat)."""
    sos = sps.butter(2, 3.0, btype="highpass", fs=m.fs, output="sos")
    return [sps.sosfiltfilt(sos, _blanked(m, k)) for k in (II, III, AVF, V1)]


def _flattest_window(m: Measurement, leads=(II, III, AVF, V1), width: float = 0.08) -> float:
    """The isoelectric line: the smallest peak-to-peak (mV, worst of the leads) of any 80 ms
    window of the median beat outside the QRS (PR segment, ST, TP). Sinus rhythm has one;
    flutter waves never stop."""
    fs, w = m.fs, int(width * m.fs)
    rr = int(np.median(m.rr) * fs)
    next_onset = m.onset + rr
    regions = [(max(0, m.end - rr + int(0.04 * fs)), m.onset - int(0.02 * fs)),
               (m.end + int(0.02 * fs), min(m.template.shape[1], next_onset - int(0.02 * fs)))]
    return min(float(np.ptp(m.template[list(leads), s: s + w], axis=1).max())
               for a, b in regions for s in range(a, b - w, max(1, w // 6)))


def _flutter_rate(m: Measurement) -> tuple[int, float]:
    """(k, f): the multiple k of the ventricular rate whose spectral line (with its second
    harmonic) stands out most from its neighbours' lines, in 3.8-6 Hz, and the periodogram's
    peak frequency near it. T waves put lines at every multiple of the heart rate, with a
    smooth envelope; waves at k times the rate lift the k-th line (and the 2k-th: a saw-tooth)
    above the (k - 1)-th and (k + 1)-th."""
    total = 0.0
    for y in _flutter_leads(m):
        f, p = sps.periodogram(y, fs=m.fs, window="hann")
        total = total + p
    hr = 1.0 / np.median(m.rr)

    def line(x: float) -> float:
        sel = np.abs(f - x) <= 0.15
        return float(total[sel].max()) if sel.any() else 0.0

    scores = {k: (line(k * hr) + line(2 * k * hr))
              / (line((k - 1) * hr) + line((k + 1) * hr) + line((2 * k - 1) * hr)
                 + line((2 * k + 1) * hr) + 1e-12)
              for k in range(2, 8) if 3.8 <= k * hr <= 6.0}
    k = max(scores, key=scores.get)
    near = np.abs(f - k * hr) <= 0.3
    return k, float(f[near][np.argmax(total[near])])


def test_flutter_waves_in_inferior_leads_and_fixed_conduction() -> None:
    for seed, m in each(("164890007",), range(8)):
        k, peak = _flutter_rate(m)
        # atrial waves at 240-340 /min: flutter waves, not P waves
        assert 4.0 <= peak <= 5.7, (seed, peak)
        # conducted 2:1 or 4:1: the atrial line sits on that multiple of the ventricular rate
        assert k in (2, 4) and abs(np.median(m.rr) * peak - k) < 0.2, (seed, k, peak)
        assert _flattest_window(m) > 0.035, (seed, _flattest_window(m))  # no isoelectric line
    for code in ("426783006", "426177001", "164909002"):
        for seed, m in each((code,), range(8)):
            assert _flattest_window(m) < 0.035, (code, seed)


# ---------------------------------------------------------------------------------------------
# Conduction


@pytest.mark.parametrize("code", ["426783006", "426177001", "47665007", "713427006"])
def test_pr_normal(code: str) -> None:
    for seed, m in each((code,)):
        pr = m.p_wave()[0]
        assert 120 <= pr <= 200, (seed, pr)


@pytest.mark.parametrize("codes", [("270492004",), ("164947007",), ("270492004", "164947007")])
def test_pr_prolonged(codes: tuple[str, ...]) -> None:
    for seed, m in each(codes):
        pr = m.p_wave()[0]
        assert pr > 200, (seed, pr)


@pytest.mark.parametrize(("code", "low", "high"), [
    ("426783006", 60, 110), ("39732003", 60, 110), ("164934002", 60, 110),
    ("713427006", 120, 200), ("59118001", 120, 200), ("164909002", 120, 220),
    ("713426002", 100, 119), ("698252002", 116, 180), ("445118002", 60, 119),
    ("733534002", 120, 220), ("6374002", 120, 200), ("365413008", 60, 110)])
def test_qrs_duration(code: str, low: float, high: float) -> None:
    for seed, m in each((code,)):
        assert low <= m.qrs_ms <= high, (seed, m.qrs_ms)


def _deflections(y: np.ndarray, fs: float, floor: float = 0.05,
                 rel: float = 0.12) -> list[tuple[int, float]]:
    """Significant waves of a QRS: (index, value) of the extrema between zero crossings that
    reach `floor` mV and `rel` of the largest one."""
    sig = max(floor, rel * float(np.abs(y).max()))
    waves, start = [], 0
    sign = np.sign(y)
    for k in range(1, len(y) + 1):
        if k == len(y) or (sign[k] != sign[start] and sign[k] != 0):
            seg = y[start:k]
            j = start + int(np.argmax(np.abs(seg)))
            if abs(y[j]) >= sig:
                waves.append((j, float(y[j])))
            start = k
    return waves


def _terminal_r(m: Measurement) -> bool:
    """V1 ends its QRS on a positive wave (R') after a negative one (S): rsR', rSr', qR'."""
    waves = _deflections(m.qrs(V1), m.fs)
    return len(waves) >= 2 and waves[-1][1] > 0 and any(v < 0 for _, v in waves[:-1])


def test_v1_terminal_deflection() -> None:
    for code in ("713427006", "59118001", "713426002", "6374002"):
        for seed, m in each((code,)):
            assert _terminal_r(m), (code, seed, _deflections(m.qrs(V1), m.fs))
    for code in ("164909002", "733534002", "426783006", "698252002"):
        for seed, m in each((code,)):
            waves = _deflections(m.qrs(V1), m.fs)
            assert not _terminal_r(m), (code, seed, waves)
            if code in ("164909002", "733534002"):  # QS or rS: dominant and last wave negative
                assert waves[-1][1] < 0 and -min(v for _, v in waves) > max(0, *[v for _, v in
                                                                                  waves]), seed


def _s_duration_ms(m: Measurement, k: int) -> float:
    """How long the QRS stays below -0.05 mV after its tallest R."""
    y = m.qrs(k)
    after = y[int(np.argmax(y)):]
    return 1000.0 * float((after < -0.05).sum()) / m.fs


def _first_wave(m: Measurement, k: int) -> float:
    """The first wave of the QRS: negative for a q (a septal q may be a tenth of the R)."""
    return _deflections(m.qrs(k), m.fs, floor=0.03, rel=0.04)[0][1]


def test_rbbb_wide_slurred_s_in_lateral_leads() -> None:
    for code in ("713427006", "59118001"):
        for seed, m in each((code,)):
            assert max(_s_duration_ms(m, LI), _s_duration_ms(m, V6)) >= 40, (code, seed)
            assert min(m.t_amp(V1), m.t_amp(V2)) < 0, (code, seed)  # secondary T inversion
    for seed, m in each(("426783006",)):
        assert max(_s_duration_ms(m, LI), _s_duration_ms(m, V6)) < 40, seed


@pytest.mark.parametrize("code", ["164909002", "733534002"])  # LBBB, and CLBBB (2021)
def test_lbbb_broad_r_without_septal_q_and_discordant_t(code: str) -> None:
    for seed, m in each((code,)):
        for k in (LI, V6):
            y = m.qrs(k)
            if y.max() > 0.3:  # the lateral lead that carries the broad R
                assert _first_wave(m, k) > 0, (seed, k)  # no septal q
                assert 1000 * (y > 0.5 * y.max()).sum() / m.fs >= 40, (seed, k)  # broad R
        assert m.t_amp(V6) < 0 < m.t_amp(V1), seed  # discordant ST-T
    # a normal heart has its septal q in I or V6
    assert sum(min(_first_wave(m, LI), _first_wave(m, V6)) < 0
               for _, m in each(("426783006",))) >= 4


def test_bbb_is_neither_left_nor_right_bundle_branch_block() -> None:
    """BBB (2021, side unspecified): wide, with an R' in V1 as in RBBB but without RBBB's wide
    slurred S in I and V6, and without a septal q in I and V6 as in LBBB (whose V1 ends on a
    negative wave); its T turned away in V1."""
    for seed, m in each(("6374002",), range(8)):
        assert m.qrs_ms >= 120 and _terminal_r(m), (seed, m.qrs_ms)
        assert max(_s_duration_ms(m, LI), _s_duration_ms(m, V6)) < 40, seed  # not RBBB
        for k in (LI, V6):
            y = m.qrs(k)
            if y.max() > 0.3:
                assert _first_wave(m, k) > 0, (seed, k)  # no septal q
                assert 1000 * (y > 0.5 * y.max()).sum() / m.fs >= 40, (seed, k)  # broad R
        assert m.t_amp(V1) < 0, seed
        assert not _q_territory(m), seed  # rSR' in V1: its r keeps it from reading as a QS


def _r_progression(m: Measurement) -> np.ndarray:
    """R (the largest positive deflection of the QRS) in V1-V4, mV."""
    return np.array([float(m.qrs(k).max()) for k in (V1, V2, V3, V4)])


@pytest.mark.parametrize("codes", [("365413008",), ("365413008", "426783006"),
                                   ("365413008", "426177001"), ("365413008", "164909002")])
def test_poor_r_wave_progression(codes: tuple[str, ...]) -> None:
    """PRWP (2021): R in V3 of 3 mm (0.3 mV) or less, and no taller R anywhere in V1-V4 (the R
    fails to grow); an r still there in V1-V4, so it does not read as anterior Q waves."""
    for seed, m in each(codes):
        r = _r_progression(m)
        assert r[2] <= 0.3 and r.max() <= 0.3, (seed, r.round(2))
        if "164909002" not in codes:  # (LBBB's V1-V3 may be QS)
            assert (r >= 0.04).all() and not _q_territory(m), (seed, r.round(2))
            v6 = m.qrs(V6)
            assert v6.max() > -v6.min(), seed  # R dominant by V6
    for seed, m in each(("426783006",), range(8)):  # normal progression: an R over 3 mm by V4
        assert _r_progression(m).max() > 0.3, seed


def test_nsivcb_is_wide_without_bundle_branch_morphology() -> None:
    for seed, m in each(("698252002",)):
        assert m.qrs_ms >= 116 and not _terminal_r(m), seed
        assert min(_first_wave(m, k) for k in (LI, AVL, V5, V6)) < 0, seed  # septal q kept


# ---------------------------------------------------------------------------------------------
# Axis


@pytest.mark.parametrize(("codes", "low", "high"), [
    (("39732003",), -90, -30), (("445118002",), -90, -40), (("47665007",), 90, 180),
    (("426783006",), -30, 90), (("426177001",), -30, 90), (("713427006", "39732003"), -90, -30),
    (("164909002", "39732003"), -90, -30), (("47665007", "39732003"), -90, -30)])
def test_frontal_axis(codes: tuple[str, ...], low: float, high: float) -> None:
    for seed, m in each(codes):
        assert low <= m.axis <= high, (seed, m.axis)


def test_lanfb_qr_in_avl_rs_in_inferior_leads() -> None:
    for seed, m in each(("445118002",)):
        for k in (LI, AVL):  # a small q is still a q
            waves = _deflections(m.qrs(k), m.fs, floor=0.03, rel=0.03)
            assert waves[0][1] < 0 and max(v for _, v in waves) > -waves[0][1], (seed, k, waves)
        for k in (II, III, AVF):
            waves = _deflections(m.qrs(k), m.fs, floor=0.03, rel=0.03)
            assert waves[0][1] > 0 and min(v for _, v in waves) < -waves[0][1], (seed, k, waves)


# ---------------------------------------------------------------------------------------------
# Repolarisation, Q waves, voltage


@pytest.mark.parametrize("code", ["426783006", "426177001", "427084000", "713427006",
                                  "164909002", "39732003", "47665007", "6374002", "365413008"])
def test_qtc_normal(code: str) -> None:
    for seed, m in each((code,)):
        assert 350 <= m.qtc_ms() <= 450, (seed, m.qtc_ms())


@pytest.mark.parametrize("codes", [("111975006",), ("111975006", "426177001"),
                                   ("111975006", "164889003")])
def test_qtc_long(codes: tuple[str, ...]) -> None:
    for seed, m in each(codes):
        assert m.qtc_ms() > 460, (seed, m.qtc_ms())


CONTIGUOUS_T = [(II, AVF), (LI, V6), (V3, V4), (V4, V5), (V5, V6)]


def test_t_inversion_in_contiguous_leads() -> None:
    for seed, m in each(("59931005",), range(8)):
        inverted = {k for k in (LI, II, AVF, V3, V4, V5, V6) if m.t_amp(k) <= -0.1}
        assert any(a in inverted and b in inverted for a, b in CONTIGUOUS_T), (seed, inverted)
        assert min(m.t_amp(k) for k in range(12)) >= -0.55, seed
    for seed, m in each(("426783006",)):
        assert all(m.t_amp(k) > 0.05 for k in (LI, II, V3, V4, V5, V6)), seed


def _t_flat_or_biphasic(m: Measurement, k: int) -> bool:
    seg = m.lead(k)[m.t_window()]
    r = max(float(m.qrs(k).max()), 0.0)
    hi, lo = float(seg.max()), float(-seg.min())
    flat = max(hi, lo) < 0.1 and max(hi, lo) < max(0.1 * r, 0.05)
    biphasic = min(hi, lo) >= 0.04 and min(hi, lo) >= 0.25 * max(hi, lo)
    return flat or biphasic


def test_t_wave_abnormal_flat_or_biphasic() -> None:
    for seed, m in each(("164934002",), range(8)):
        abnormal = [k for k in (LI, II, V4, V5, V6) if _t_flat_or_biphasic(m, k)]
        assert len(abnormal) >= 4, (seed, abnormal)
    for seed, m in each(("426783006",)):
        assert sum(_t_flat_or_biphasic(m, k) for k in (LI, II, V4, V5, V6)) <= 1, seed


def _pathological_q(m: Measurement, k: int) -> bool:
    """First QRS wave negative, and 40 ms wide or 25 % of the following R deep (or no R: QS)."""
    y = m.qrs(k)
    waves = _deflections(y, m.fs, floor=0.04, rel=0.03)  # any visible initial r rules a Q out
    if not waves or waves[0][1] >= 0:
        return False
    j = waves[0][0]
    back = j
    while back > 0 and y[back - 1] < 0:
        back -= 1
    fwd = j
    while fwd < len(y) - 1 and y[fwd + 1] < 0:
        fwd += 1
    width_ms = 1000.0 * (fwd - back + 1) / m.fs
    r_after = max([v for _, v in waves[1:] if v > 0], default=0.0)
    return width_ms >= 40 or -waves[0][1] >= 0.25 * r_after


def _q_territory(m: Measurement) -> list[str]:
    groups = {"inferior": [(II, AVF), (III, AVF)], "anterior": [(V1, V2), (V2, V3), (V3, V4)]}
    return [name for name, pairs in groups.items()
            if any(_pathological_q(m, a) and _pathological_q(m, b) for a, b in pairs)]


def test_pathological_q_waves() -> None:
    for seed, m in each(("164917005",), range(8)):
        assert _q_territory(m), seed
    for code in ("426783006", "39732003", "713427006", "6374002", "365413008"):
        for seed, m in each((code,)):
            assert not _q_territory(m), (code, seed)


@pytest.mark.parametrize("codes", [("251146004",), ("251146004", "164889003"),
                                   ("251146004", "39732003"), ("251146004", "10370003")])
def test_low_qrs_voltage(codes: tuple[str, ...]) -> None:
    for seed, m in each(codes):
        p2p = np.array([np.ptp(m.qrs(k)) for k in range(12)])
        assert p2p[:6].max() < 0.5 and p2p[6:].max() < 1.0, (seed, p2p.round(2))


def test_normal_voltage() -> None:
    for code in ("426783006", "39732003", "47665007", "164909002", "6374002", "365413008"):
        for seed, m in each((code,)):
            assert max(np.ptp(m.qrs(k)) for k in range(6)) > 0.5, (code, seed)


# ---------------------------------------------------------------------------------------------
# Ectopy


def _beat_window(m: Measurement, k: int) -> np.ndarray:
    """Beat k from 0.5 s before its fiducial to 0.75 s after (edge-padded at the record ends)."""
    a, b = int(0.5 * m.fs), int(0.75 * m.fs)
    padded = np.pad(m.x, ((0, 0), (a, b)), mode="edge")
    return padded[:, m.fid[k]: m.fid[k] + a + b]


def _premature(m: Measurement) -> list[int]:
    """Indices k of beats that come early (the interval before < 85 % of the median), with a
    beat after."""
    rr = m.onset_rr
    return [k for k in range(1, len(m.fid) - 1) if rr[k - 1] < 0.85 * np.median(rr)]


def _beat_bounds(m: Measurement, k: int) -> tuple[int, int]:
    """One beat's QRS onset and end in its window, from its own steepest point (it may not be
    like the template); the onset needs 20 ms of quiet (a PVC's two humps may pause)."""
    beat, a = _beat_window(m, k), int(0.5 * m.fs)
    e = slope_envelope(beat, m.fs)
    centre = a - int(0.06 * m.fs) + int(np.argmax(e[a - int(0.06 * m.fs): a + int(0.06 * m.fs)]))
    return qrs_bounds(beat, m.fs, centre, onset_quiet=0.02)


def _beat_qrs_ms(m: Measurement, k: int) -> float:
    on, end = _beat_bounds(m, k)
    return 1000.0 * (end - on) / m.fs


def _qrs_corr(m: Measurement, k: int) -> float:
    a = int(0.5 * m.fs)
    qrs = slice(a - int(0.06 * m.fs), a + int(0.08 * m.fs))
    return float(np.corrcoef(_beat_window(m, k)[:, qrs].ravel(), m.template[:, qrs].ravel())[0, 1])


def _pre_beat_residual(m: Measurement, k: int) -> tuple[float, np.ndarray]:
    """Atrial activity before beat k, and the 8-lead vector at its largest point.

    Over [fid - 350 ms (but past beat k - 1's QRS), QRS onset - 30 ms]: the signal minus the
    median of the same stretch after the dominant beats whose next beat (and its P wave) comes
    later than that (the stretch is cut short if fewer than two such beats), placed on beat
    k - 1 (what a beat leaves behind: its ST-T); linearly
    detrended (baseline drift), smoothed over 20 ms: its largest value in any lead (mV).
    """
    fs, a = m.fs, int(0.5 * m.fs)
    on = m.fid[k] - a + _beat_bounds(m, k)[0]  # this beat's own onset
    lo = max(m.fid[k] - int(0.35 * fs), m.fid[k - 1] + int(0.12 * fs)) - m.fid[k - 1]
    hi = on - int(0.03 * fs) - m.fid[k - 1]
    pr = m.p_wave()[0]
    lead_in = int(((pr if np.isfinite(pr) else 200.0) / 1000 + 0.05) * fs)  # P + margin
    dominant = [j for j in m.beat_index[m.corr > min(0.9, np.median(m.corr) - 0.1)]
                if j + 1 < len(m.fid) and j != k - 1]
    # how far after each reference beat it stays clean (before its next beat's P wave)
    clean = sorted(((m.fid[j + 1] - m.fid[j] - lead_in, j) for j in dominant), reverse=True)
    hi = min(hi, clean[1][0]) if len(clean) > 1 else hi
    refs = [m.x[:, m.fid[j] + lo: m.fid[j] + hi] for c, j in clean if c >= hi]
    res = m.x[:, m.fid[k - 1] + lo: m.fid[k - 1] + hi] - np.median(np.stack(refs), axis=0)
    # a P wave is a hump; a baseline that drifted since the template beat is a line
    res = res - np.linspace(res[:, :1], res[:, -1:], res.shape[1], axis=1)[:, :, 0]
    w = max(1, int(0.02 * fs))
    res = np.stack([np.convolve(r, np.ones(w) / w, mode="same") for r in res])[:, w:-w]
    j = int(np.argmax(np.abs(res).max(axis=0)))
    return float(np.abs(res[:, j]).max()), res[INDEPENDENT, j]


def _sinus_p_vector(m: Measurement) -> np.ndarray:
    _, _, peak = m.p_wave()
    return np.array([m.lead(k)[peak] for k in INDEPENDENT])


def test_premature_atrial_beats() -> None:
    for seed, m in each(("284470004",)):
        early = _premature(m)
        assert early, seed
        sinus_p = _sinus_p_vector(m)
        rr = m.onset_rr
        med = np.median(rr)
        for k in early:
            assert _beat_qrs_ms(m, k) <= 115 and _qrs_corr(m, k) > 0.9, (seed, k)
            assert rr[k - 1] + rr[k] < 1.95 * med, (seed, k)  # non-compensatory
            amp, vec = _pre_beat_residual(m, k)
            cos = float(vec @ sinus_p / (np.linalg.norm(vec) * np.linalg.norm(sinus_p)))
            assert amp > 0.055 and cos < 0.5, (seed, k, amp, cos)  # its own, abnormal P


def test_premature_ventricular_beats() -> None:
    for code in ("427172004", "17338001"):
        for seed, m in each((code,)):
            early = _premature(m)
            assert early, (code, seed)
            rr = m.onset_rr
            med = np.median(rr)
            for k in early:
                assert _beat_qrs_ms(m, k) >= 120 and _qrs_corr(m, k) < 0.8, (code, seed, k)
                assert abs(rr[k - 1] + rr[k] - 2 * med) < 0.06 * 2 * med, (code, seed, k)
                assert _pre_beat_residual(m, k)[0] < 0.045, (code, seed, k)  # no P before it


def test_bundle_branch_block_widens_pvcs_too() -> None:
    for seed, m in each(("713427006", "427172004")):
        assert m.qrs_ms >= 120 and _terminal_r(m), seed
        assert all(_beat_qrs_ms(m, k) >= 120 for k in _premature(m)), seed


# ---------------------------------------------------------------------------------------------
# Pacing


@pytest.mark.parametrize("fs", [257.0, 500.0, 1000.0])
def test_pacing_spikes_and_wide_paced_qrs(fs: float) -> None:
    for seed in SEEDS:
        ecg = record(("10370003",), seed, fs)
        m = measured(("10370003",), seed, fs)
        raw = m.raw
        assert len(m.spikes) >= len(m.peaks) - 1, seed
        inner = m.spikes[(m.spikes > max(m.peaks[0] - 0.2 * fs, 5)) & (m.spikes < m.peaks[-1])]
        for s in inner:
            around = np.median(raw[:, s - 5: s + 6], axis=1)
            height = np.abs(raw[:, s] - around)
            assert 1.5 <= height.max() <= 5.5, (seed, height.max())
            lead = int(np.argmax(height))
            wide = np.abs(raw[lead, s - 3: s + 4] - around[lead]) > 0.5 * height[lead]
            # at most 2 ms at half height (one sample where a sample is longer than that)
            assert wide.sum() <= max(1, int(0.002 * fs)), seed
            assert np.abs(m.peaks - s).min() < 0.25 * fs, seed  # a QRS follows
        # paced QRS duration is measured from the stimulus to the end of the QRS
        lag = np.median([m.fid[np.argmin(np.abs(m.fid - s))] - s for s in inner])
        qrs_from_spike = 1000.0 * (m.end - m.centre + lag) / fs
        assert qrs_from_spike >= 140, (seed, qrs_from_spike)
        # the pacemaker's own timing: its stimuli (R peaks may fall on the stimulus or the QRS)
        intervals = np.diff(m.spikes) / fs
        assert 59 < 60.0 / np.median(intervals) < 81, seed
        assert intervals.std() / intervals.mean() < 0.03, seed
        assert ecg.truth["rhythm"] == "paced"


def test_no_spikes_without_pacing() -> None:
    for code in ("426783006", "427172004", "164909002"):
        for seed, m in each((code,)):
            assert m.spikes.size == 0, (code, seed)


# ---------------------------------------------------------------------------------------------
# Multi-label records


def test_combinations_stay_consistent() -> None:
    # AF hides P waves whatever else is given; a first-degree block cannot show
    for seed, m in each(("164889003", "270492004", "426783006")):
        assert m.cv > 0.1 and m.p_locking() < 0.5, seed
    # pacing over AF: spikes, f-waves in V1, no P
    for seed, m in each(("10370003", "164889003")):
        assert m.spikes.size >= len(m.peaks) - 1, seed
        assert 5.0 <= _spectral_peak(_qrst_cancelled(m, V1), m.fs, 4.0, 12.0)[0] <= 9.0, seed
    # first-degree block with PACs: the PAC brings its own early P
    for seed, m in each(("270492004", "284470004")):
        assert m.p_wave()[0] > 200, seed
        assert all(_pre_beat_residual(m, k)[0] > 0.055 for k in _premature(m)), seed
    # LAnFB with RBBB (bifascicular block)
    for seed, m in each(("445118002", "713427006")):
        assert m.axis <= -40 and m.qrs_ms >= 120 and _terminal_r(m), seed
    # the unspecified block in AF: wide, R' in V1, irregular; and with LAD
    for seed, m in each(("6374002", "164889003")):
        assert m.qrs_ms >= 120 and _terminal_r(m) and m.cv > 0.1, seed
    for seed, m in each(("6374002", "39732003")):
        assert m.qrs_ms >= 120 and m.axis <= -30, seed


# ---------------------------------------------------------------------------------------------
# Realism over random multi-label records

RHYTHMS = ["426783006", "426177001", "427084000", "427393009", "164889003", "164890007",
           "10370003"]
EXTRAS = ["270492004", "713427006", "713426002", "164909002", "698252002", "445118002",
          "39732003", "47665007", "284470004", "427172004", "111975006", "164934002",
          "59931005", "164917005", "251146004", "426627000"]
QRS_CHANGING = {"251146004", "39732003", "47665007", "445118002", "10370003", "164909002",
                "713427006", "59118001", "713426002", "698252002", "164917005"}


def _random_records(count: int = 50) -> list[tuple[tuple[str, ...], ECG, Measurement]]:
    rng = np.random.default_rng(2020)
    out = []
    for i in range(count):
        codes = (str(rng.choice(RHYTHMS)),
                 *map(str, rng.choice(EXTRAS, size=int(rng.integers(0, 3)), replace=False)))
        ecg = record(codes, 100 + i)
        out.append((codes, ecg, measured(codes, 100 + i)))
    return out


def test_realistic_amplitudes_over_random_records() -> None:
    for codes, ecg, m in _random_records():
        n = ecg.signal_mv.shape[1]
        assert match(ecg.truth, m.peaks, FS, n) == (0, 0), codes
        # NeuroKit's threshold is 1.5 x its slope averaged over 0.75 s: a T wave peaking more
        # than 0.35 s after its QRS (long QT, slow rate), a diastole longer than a second, or
        # atrial waves running through it (P waves of VVI pacing over complete block, flutter
        # waves) leave that window without a QRS, and the wave or noise passes (on real
        # records too; the single-class records above are all held to it). Held to NeuroKit
        # where that cannot happen.
        win = m.t_window()
        t_lead = m.lead(II)[win]
        t_delay = (win.start + int(np.argmax(np.abs(t_lead))) - m.centre) / m.fs
        free_atria = {"10370003", "164890007"} & set(codes)
        if t_delay <= 0.35 and np.max(np.diff(m.peaks)) / m.fs <= 1.0 and not free_atria:
            assert match(ecg.truth, m.detected, FS, n) == (0, 0), codes
        sinus = not {"10370003", "164889003", "164890007", "427084000"} & set(codes)
        if sinus:  # P at most 0.25 mV in any lead
            peak = m.p_wave()[2]
            assert peak > 0, codes
            assert max(abs(float(m.lead(k)[peak])) for k in range(12)) <= 0.25, codes
        if not QRS_CHANGING & set(codes):
            r_ii = float(m.qrs(II).max())
            assert 0.5 <= r_ii <= 2.0, (codes, r_ii)
            assert abs(m.t_amp(II)) < r_ii, (codes, m.t_amp(II), r_ii)
            if "164890007" not in codes:  # flutter waves' slopes blur the QRS edges
                assert m.qrs_ms <= 115, (codes, m.qrs_ms)
        if "251146004" not in codes:
            assert max(np.ptp(m.qrs(k)) for k in range(6)) > 0.5, codes


def test_r_wave_progression_and_upright_p() -> None:
    for seed, m in each(("426783006",), range(8)):
        v1, v5, v6 = m.qrs(V1), m.qrs(V5), m.qrs(V6)
        assert v1.max() < -v1.min(), seed  # rS in V1
        assert v5.max() > -v5.min() and v6.max() > -v6.min(), seed  # R > S by V5
        peak = m.p_wave()[2]
        assert m.lead(II)[peak] > 0 and m.lead(AVR)[peak] < 0, seed  # P upright II, down aVR


# ---------------------------------------------------------------------------------------------
# Noise


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_frequency_in_the_spectrum(mains: float) -> None:
    noise = NoiseProfile(white_mv=0.01, wander_mv=0.05, mains_hz=mains, mains_mv=0.05)
    ecg = generate_ecg(np.random.default_rng(5), ["426783006"], fs=500.0, duration_s=10.0,
                       noise=noise)
    f, p = sps.welch(ecg.signal_mv[LI] - ecg.clean_mv[LI], fs=500.0, nperseg=2000)
    assert abs(f[np.argmax(p)] - mains) < 0.5
    other = 110.0 - mains
    assert p[np.argmin(np.abs(f - other))] < 1e-3 * p.max()


def test_noise_profile_components() -> None:
    quiet = NoiseProfile(white_mv=0.0, wander_mv=0.0, mains_hz=None)
    ecg = generate_ecg(np.random.default_rng(2), ["426783006"], fs=500.0, duration_s=20.0,
                       noise=quiet)
    np.testing.assert_array_equal(ecg.signal_mv, ecg.clean_mv)
    white = generate_ecg(np.random.default_rng(2), ["426783006"], fs=500.0, duration_s=20.0,
                         noise=NoiseProfile(white_mv=0.02, wander_mv=0.0))
    assert abs(float(np.std(white.signal_mv[LI] - white.clean_mv[LI])) - 0.02) < 0.002
    wander = generate_ecg(np.random.default_rng(2), ["426783006"], fs=500.0, duration_s=20.0,
                          noise=NoiseProfile(white_mv=0.0, wander_mv=0.3))
    d = wander.signal_mv - wander.clean_mv
    f, p = sps.welch(d[V2], fs=500.0, nperseg=10000)
    assert f[np.argmax(p)] <= 0.55 and 0.05 < np.abs(d[V2]).max() <= 0.3 * 1.01
    assert not np.allclose(d[V1], d[V2])  # lead-varying
    emg = generate_ecg(np.random.default_rng(2), ["426783006"], fs=500.0, duration_s=20.0,
                       noise=NoiseProfile(white_mv=0.0, wander_mv=0.0, emg_mv=0.1))
    d = (emg.signal_mv - emg.clean_mv)[LI]
    f, p = sps.welch(d, fs=500.0, nperseg=1000)
    assert p[(f >= 20) & (f <= 150)].sum() > 0.9 * p.sum()  # band-limited
    env = np.convolve(d**2, np.ones(250) / 250, mode="same")
    assert env.max() > 20 * max(np.percentile(env, 5), 1e-12)  # bursts, not continuous


def test_truth_intervals_are_in_range() -> None:
    """The generator's own bookkeeping (not a measurement) stays inside the definitions."""
    cases = {"426783006": ("pr_ms", 120, 200), "270492004": ("pr_ms", 210, 350),
             "164947007": ("pr_ms", 200, 280), "713426002": ("qrs_ms", 100, 115),
             "111975006": ("qtc_ms", 470, 560)}
    for code, (key, lo, hi) in cases.items():
        for seed in SEEDS:
            assert lo <= record((code,), seed).truth[key] <= hi, (code, seed)
    assert em.PR_IAVB[0] > 0.2 and em.QTC_NORMAL[1] <= 0.44


def test_readme_holds_the_class_definitions() -> None:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert em.definitions_markdown() in readme.read_text()
