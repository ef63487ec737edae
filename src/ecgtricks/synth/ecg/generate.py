"""The generator: labels -> plan -> waves and beats -> 12 leads + noise, and the ground truth.

Every random draw happens in a fixed order (QRS and chest, PVC, T, AV timing, rate, P waves,
beats, then rendering, pacing spikes, atrial waves and noise), so a record depends only on its
generator's state and its arguments. Keep that order when editing: moving one draw changes
every record generated after it.

Speed (one core, this machine): about 3 ms for a 10 s, 500 Hz record and about 0.5 s for a
30 minute, 257 Hz record (printed by ``tests/synth/test_ecg_model.py::test_speed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ecgtricks.synth.ecg.atrial import (
    add_fibrillation_waves,
    add_flutter_waves,
    clear_of_t,
    draw_av,
    ectopic_p_shape,
    render_p_waves,
    sinus_p_shape,
)
from ecgtricks.synth.ecg.constants import AF, AFL, SPIKE_MV
from ecgtricks.synth.ecg.dipole import Shape, expand_leads, make_shape, render, unit
from ecgtricks.synth.ecg.noise import NoiseProfile, recording_noise
from ecgtricks.synth.ecg.plan import Plan, plan_for
from ecgtricks.synth.ecg.qrs import QRSDesign, design_pvc, design_qrs
from ecgtricks.synth.ecg.rhythm import Beats, draw_rate, place_beats
from ecgtricks.synth.ecg.t_wave import (
    TWave,
    add_conducted_t,
    add_secondary_t,
    cap_t_gains,
    draw_t_wave,
    qt_interval,
    t_lead_gains,
)
from ecgtricks.synth.ecg.variability import Variability


@dataclass
class ECG:
    """One generated record and its ground truth."""

    signal_mv: np.ndarray  # (12, n) float32, noisy, lead order of LEADS
    clean_mv: np.ndarray  # (12, n) float32, before noise
    fs: float
    labels: tuple[str, ...]
    truth: dict[str, Any] = field(default_factory=dict)


def generate_ecg(rng: np.random.Generator, labels: Iterable[str], *, fs: float, duration_s: float,
                 amplitude: float = 1.0, noise: NoiseProfile | None = None,
                 variability: Variability | None = None) -> ECG:
    """One 12-lead record showing the given SNOMED CT codes (unknown codes are ignored).

    ``variability`` (:mod:`.variability`): the person's and recording's departures from the
    model's beat; None keeps the model's own narrow variation and draws nothing more."""
    labels = tuple(str(code) for code in labels)
    codes = {code.strip() for code in labels}
    noise = NoiseProfile() if noise is None else noise
    fs = float(fs)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    var = Variability() if variability is None else variability
    d = _design(rng, codes, duration_s, var)
    vcg, own, root, qt_beat = _render_vcg(rng, d, fs, n, var)
    leads8 = d.qrs.lead8 @ vcg
    for part, gain in own:  # waves with gains of their own per lead (Variability)
        leads8 += (d.qrs.lead8 @ part) * np.asarray(gain)[:, None]
    spikes = np.zeros(0, dtype=np.int64)
    if d.qrs.paced is not None:
        spikes = _add_pacing_spikes(rng, leads8, d, fs, n)
    atrial: dict[str, Any] = {}
    if d.plan.rhythm == "afl" or (AFL in codes and d.plan.rhythm == "paced"):
        atrial = add_flutter_waves(rng, leads8, t, d.plan, d.beats, d.qrs.lead8, d.qrs.lead12,
                                   d.qrs.p2p_dom[1])
    elif AF in codes:
        add_fibrillation_waves(rng, leads8, t, d.plan, d.qrs.lead8, d.qrs.lead12)
    if var.lead_gain is not None:  # electrode placement: each independent lead's own gain
        leads8 *= np.asarray(var.lead_gain)[:, None]
    if var.resp_lead is not None:
        swing = np.sin(2 * np.pi * t / var.resp_period_s + var.resp_phase)
        leads8 *= 1.0 + np.asarray(var.resp_lead)[:, None] * swing[None, :]
    leads8 *= amplitude

    clean8 = leads8
    noisy8 = clean8 + recording_noise(rng, noise, n, fs, t)
    clean = expand_leads(clean8.astype(np.float32))
    signal = expand_leads(noisy8.astype(np.float32))
    truth = _truth(d, fs, n, root, qt_beat, spikes, amplitude, atrial)
    if variability is not None:
        truth["variability"] = asdict(variability)
    return ECG(signal, clean, fs, labels, truth)


_INDEPENDENT = [0, 1, 6, 7, 8, 9, 10, 11]  # I, II, V1..V6 among the 12 leads


@dataclass
class _Design:
    """Everything drawn for one record before it is rendered."""

    plan: Plan
    qrs: QRSDesign
    pvc: Shape | None
    t: TWave
    pr: float | None  # after clear_of_t
    pacing_mode: str | None  # VAT | VVI | VVI-dissociated
    p_wave: Shape
    ectopic_p: Shape
    beats: Beats

    @property
    def shapes(self) -> dict[str, Shape | None]:
        """The QRS complex of each beat kind."""
        q = self.qrs
        return {"N": q.intrinsic, "A": q.intrinsic, "V": self.pvc, "P": q.paced}


def _design(rng: np.random.Generator, codes: set[str], duration_s: float,
            var: Variability) -> _Design:
    """The record's waves and beats, drawn in the generator's fixed order."""
    p = plan_for(codes)
    q = design_qrs(rng, p, var)
    pvc = design_pvc(rng, p, q) if p.pvc else None
    tw = draw_t_wave(rng, p, q.axis, q.intrinsic, q.lead12, var.tab_kinds)
    pr, pacing_mode = draw_av(rng, p, codes)
    dp = rng.uniform(0.085, 0.11)  # P wave duration
    rate, rhythm_extra = draw_rate(rng, p, var)
    if p.rhythm == "sinus":
        rate *= var.rate_scale
    pr = clear_of_t(p, pr, rate, tw.qtc)
    p_wave = sinus_p_shape(rng, p, dp, q.lead12, q.p2p_dom)
    ectopic_p = ectopic_p_shape(rng, p, p_wave, q.lead8, q.lead12, q.p2p_dom)
    beats = place_beats(rng, p, duration_s, rate, pr, pacing_mode, rhythm_extra, var)
    return _Design(p, q, pvc, tw, pr, pacing_mode, p_wave, ectopic_p, beats)


def _render_vcg(rng: np.random.Generator, d: _Design, fs: float, n: int,
                var: Variability) -> tuple[np.ndarray, list[tuple[np.ndarray, tuple[float, ...]]],
                                           float, float]:
    """The (3, n) vector loop of every beat's QRS, T and P; apart from it, (loop, lead gains) of
    the waves that have gains of their own (``var.t_lead_gain`` for a normal T,
    ``var.p_lead_gain`` for the P waves); sqrt(RR) and the QT."""
    beats, q = d.beats, d.qrs
    on, kinds = beats.onsets, beats.kinds
    # Respiration swings the QRS voltage by a few per cent (the heart's position changes); the
    # T wave follows it only weakly.
    amps = 1.0 + var.resp_qrs * np.sin(beats.resp) + var.beat_jitter * rng.standard_normal(on.size)
    t_amps = (1.0 + var.t_resp * np.sin(beats.resp)) * var.t_gain
    qtc, root, qt_beat = qt_interval(d.plan, d.t.qtc, beats.mean_rr, q.intrinsic.duration)

    vcg = np.zeros((3, n))
    # a normal T has gains of its own; an abnormal one keeps its definition (TAb's low T is a
    # normal one, flattened)
    normal_t = not (d.plan.tab or d.plan.tinv) or d.t.tab_kind == "low"
    t_gain = t_lead_gains(d.t, var.t_lead_gain if normal_t else None)
    if t_gain is not None and var.t_qrs_cap is not None:
        t_gain = cap_t_gains(t_gain, d.t.vec, q.lead8, q.p2p_dom[_INDEPENDENT], var.t_qrs_cap,
                             var.t_gain)
    t_vcg = np.zeros((3, n)) if t_gain is not None else vcg
    p_vcg = np.zeros((3, n)) if var.p_lead_gain is not None else vcg
    shapes = d.shapes
    for kind in ("N", "A", "V", "P"):
        sel = kinds == kind
        if sel.any():
            render(vcg, fs, on[sel], amps[sel], shapes[kind])
    add_conducted_t(rng, t_vcg, fs, beats, t_amps, d.t, qt_beat, q.intrinsic.duration)
    add_secondary_t(rng, vcg, fs, beats, t_amps, (("V", d.pvc), ("P", q.paced)), qtc, q.lead12)
    render_p_waves(p_vcg, fs, beats, d.p_wave, d.ectopic_p)
    conducted = (kinds == "N") | (kinds == "A")
    if var.st_v2_mv and conducted.any():
        # J-point elevation (early repolarisation): a bump 50 ms after the QRS, along V2
        v2 = q.lead12[7]
        st = make_shape([(q.intrinsic.duration + 0.05, 0.04, var.st_v2_mv * v2 / float(v2 @ v2))],
                        0.0, q.intrinsic.duration + 0.15)
        render(vcg, fs, on[conducted], np.ones(int(conducted.sum())), st)
    own = [(part, gain) for part, gain in ((t_vcg, t_gain), (p_vcg, var.p_lead_gain))
           if part is not vcg]
    return vcg, own, root, qt_beat


def _add_pacing_spikes(rng: np.random.Generator, leads8: np.ndarray, d: _Design, fs: float,
                       n: int) -> np.ndarray:
    """Pacing stimulus: one sample at full height (<= 2 ms at any fs), 1.5-5 mV somewhere.
    Added to the independent leads in place; returns the spikes' sample indices."""
    q = d.qrs
    sdir = unit(rng.standard_normal(3) + np.array([0.0, -1.0, -0.5]))
    proj = q.lead12 @ sdir
    svec8 = q.lead8 @ sdir * (rng.uniform(*SPIKE_MV) / float(np.abs(proj).max()))
    spikes = np.round(d.beats.onsets[d.beats.kinds == "P"] * fs).astype(np.int64)
    spikes = spikes[(spikes >= 0) & (spikes < n)]
    leads8[:, spikes] += svec8[:, None]
    return spikes


def _truth(d: _Design, fs: float, n: int, root: float, qt_beat: float, spikes: np.ndarray,
           amplitude: float, atrial: dict[str, Any]) -> dict[str, Any]:
    """What the record shows, as generated (beats, intervals, axis, per-lead amplitudes)."""
    p, q, beats = d.plan, d.qrs, d.beats
    on, kinds = beats.onsets, beats.kinds
    nb = on.size
    dominant, intrinsic = q.dominant, q.intrinsic
    shapes = d.shapes
    t_fine = np.arange(0.0, d.p_wave.duration, 5e-4)
    p_wave = q.lead12 @ d.p_wave.sample(t_fine)
    p_peak = p_wave[np.arange(12), np.abs(p_wave).argmax(axis=1)]  # signed P peak per lead
    r_times = on + np.array([0.0 if s is None else s.r_offset
                             for s in (shapes[k] for k in kinds)]) if nb else on
    r_idx = np.round(r_times * fs).astype(np.int64)
    inside = (r_idx >= 0) & (r_idx < n)
    r_in = r_idx[inside]
    rr_s = np.diff(r_times[inside])
    mean_rr = float(rr_s.mean()) if rr_s.size else beats.mean_rr
    qt_ms = 1000 * qt_beat
    area = dominant.area()
    truth: dict[str, Any] = {
        "r_peaks": r_in,
        "beat_kinds": kinds[inside],
        "qrs_onsets": np.round(on[inside] * fs).astype(np.int64),
        "heart_rate_bpm": 60.0 / mean_rr,
        "rr_s": rr_s,
        "pr_ms": None if d.pr is None else 1000 * d.pr,
        "qrs_ms": 1000 * dominant.duration,
        "qt_ms": qt_ms,
        "qtc_ms": qt_ms / root,
        "axis_deg": float(np.degrees(np.arctan2(area[1], area[0]))),
        "p_waves": bool(beats.sinus_p.size or beats.ectopic_p.size),
        "rhythm": {"sinus": "sinus arrhythmia" if p.sa else "sinus", "af": "atrial fibrillation",
                   "afl": "atrial flutter", "paced": "paced"}[p.rhythm],
        "conduction": p.conduction if not p.nsivcb or p.conduction != "normal" else "nsivcb",
        "pacing_mode": d.pacing_mode,
        "pacing_spikes": spikes,
        "tinv_pattern": d.t.tinv_pattern,
        "tab_kind": d.t.tab_kind,
        "qab_territory": q.qab_territory,
        "qrs_lead_p2p_mv": q.p2p_dom * amplitude,
        "r_lead_mv": q.r_dom * amplitude,
        "t_lead_mv": (q.lead12 @ d.t.vec) * amplitude,
        "p_lead_mv": p_peak * amplitude if beats.sinus_p.size else None,
        "precordial_rotation_deg": q.rotation,
        "chest_gain": q.chest_gain,
        "notes": tuple(p.notes),
        **beats.extra,
        **atrial,
    }
    if d.pvc is not None:
        truth["pvc_qrs_ms"] = 1000 * d.pvc.duration
    if intrinsic is not dominant:
        truth["intrinsic_qrs_ms"] = 1000 * intrinsic.duration
    return truth
