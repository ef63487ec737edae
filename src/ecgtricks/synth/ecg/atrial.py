"""Atrial activity: AV timing (PR, pacing mode), sinus and ectopic P waves, f and F waves.

Atrial fibrillation shows 5-9 Hz frequency-modulated f-waves, largest in V1; atrial flutter a
saw-tooth at 255-300 /min, negative in II, III, aVF and upright in V1. Lead II must stay
readable for an R-peak detector, so its P and flutter waves are kept under 0.2-0.3 of its QRS
height; flutter above 300 /min is left out (NeuroKit2's detector does not resolve it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ecgtricks.synth.ecg.constants import (
    AF,
    AFL,
    F_WAVE_HZ,
    F_WAVE_V1,
    FLUTTER_P2P,
    FLUTTER_RATE,
    P_AMP_II,
    P_MAX,
    PR_IAVB,
    PR_LPR,
    PR_NORMAL,
)
from ecgtricks.synth.ecg.dipole import Shape, frontal, make_shape, peak_lead_stats, render, unit
from ecgtricks.synth.ecg.plan import Plan
from ecgtricks.synth.ecg.rhythm import Beats

# --------------------------------------------------------------------------------------------
# AV timing


def draw_av(rng: np.random.Generator, p: Plan,
            codes: set[str]) -> tuple[float | None, str | None]:
    """The PR interval (None: no conducted P waves) and the pacing mode (paced rhythm only)."""
    u = rng.uniform
    pr = None
    pacing_mode = None
    if p.rhythm == "paced":
        if not codes & {AF, AFL}:
            pacing_mode = str(rng.choice(["VAT", "VVI", "VVI-dissociated"], p=[0.5, 0.35, 0.15]))
        else:
            pacing_mode = "VVI"
        if pacing_mode == "VAT":
            pr = u(*p.pr) if p.pr is not None else u(*PR_NORMAL)
    elif p.rhythm == "sinus":
        pr = u(*p.pr) if p.pr is not None else u(*PR_NORMAL)
    if AF in codes or AFL in codes:
        pr = None  # no P waves whatever else is given
        if p.rhythm == "paced":
            pacing_mode = "VVI"
    return pr, pacing_mode


def clear_of_t(p: Plan, pr: float | None, rate: float, qtc: float) -> float | None:
    """A long PR (IAVB, LPR) shortened so that its P wave stays clear of the previous T."""
    if pr is not None and p.pr in (PR_IAVB, PR_LPR, (PR_IAVB[0], PR_LPR[1])):
        # A long PR must leave its P wave visible, clear of the previous T wave.
        room = 60.0 / rate - qtc * np.sqrt(60.0 / rate) - 0.04
        pr = float(np.clip(room, p.pr[0], pr))
    return pr


# --------------------------------------------------------------------------------------------
# P waves


def _lqrsv_cap(p2p_dom: np.ndarray) -> np.ndarray:
    """With low voltage, a P wave stays under 0.2 x the largest limb or chest QRS."""
    return np.r_[np.full(6, p2p_dom[:6].max()), np.full(6, p2p_dom[6:].max())] * 0.2


def sinus_p_shape(rng: np.random.Generator, p: Plan, dp: float, lead12: np.ndarray,
                  p2p_dom: np.ndarray) -> Shape:
    """The sinus P wave (right then left atrium) of duration ``dp``, sized against the QRS."""
    u = rng.uniform
    r_dom_ii = p2p_dom[1]
    ra = unit([u(-0.1, 0.3), 1.0, u(0.2, 0.6)])
    la = unit([1.0, u(0.2, 0.6), -u(0.4, 0.8)]) * u(0.8, 1.2)
    p_shape = make_shape([(0.32 * dp, 0.13 * dp, ra), (0.62 * dp, 0.13 * dp, la)], 0.0, dp)
    p_r, p_p2p = peak_lead_stats(p_shape, lead12)
    p_lead_max = np.maximum(p_r, p_p2p - p_r)
    # P in II 0.08-0.2 mV (at most 0.2 x the QRS height in II, so that II keeps a dominant QRS
    # when the axis is nearly perpendicular to it or the voltage is low), <= 0.2 mV in any lead
    # (with low voltage, under 0.2 x the largest QRS of the limb or chest leads).
    p_ii = min(u(*P_AMP_II), max(0.18 * float(r_dom_ii), 0.04) if p.lqrsv else
               max(0.2 * float(r_dom_ii), 0.06))
    p_scale = min(p_ii / max(p_r[1], 1e-9), P_MAX / p_lead_max.max())
    if p.lqrsv:
        cap = _lqrsv_cap(p2p_dom)
        p_scale = min(p_scale, float((cap / np.maximum(p_lead_max, 1e-9)).min()))
    return p_shape.scaled(p_scale)


def ectopic_p_shape(rng: np.random.Generator, p: Plan, p_shape: Shape, lead8: np.ndarray,
                    lead12: np.ndarray, p2p_dom: np.ndarray) -> Shape:
    """The P wave of premature atrial beats (drawn for every record, PAC or not)."""
    u = rng.uniform
    r_dom_ii = p2p_dom[1]
    # PAC focus: low atrial (P inverted in II, III, aVF) or left atrial (inverted in I, V6),
    # one whose P points away from the sinus P in the leads (so it looks different in them);
    # 0.12-0.2 mV in its largest lead, like a sinus P.
    t_fine = np.arange(0.0, p_shape.duration, 5e-4)
    sinus_leads = lead8 @ p_shape.sample(t_fine)
    sinus_vec = sinus_leads[:, int(np.argmax(np.linalg.norm(sinus_leads, axis=0)))]
    low = rng.random(16) < 0.6
    foci = np.where(low, u(-100, -60, 16), u(140, 175, 16))
    dirs = np.stack([frontal(f, z) for f, z in zip(foci, u(-0.3, 0.3, 16), strict=True)])
    proj = dirs @ lead8.T
    cos = proj @ sinus_vec / (np.linalg.norm(proj, axis=1) * np.linalg.norm(sinus_vec))
    e_dir = dirs[int(np.argmax(cos < 0.2)) if (cos < 0.2).any() else int(np.argmin(cos))]
    e_proj = np.abs(lead12 @ e_dir)
    e_mag = u(0.12, 0.2) / float(e_proj.max())
    # like the sinus P: at most 0.2 x the QRS height in II (and low with low voltage)
    e_mag = min(e_mag, max(0.2 * float(r_dom_ii), 0.04) / max(float(e_proj[1]), 1e-9))
    if p.lqrsv:
        cap = _lqrsv_cap(p2p_dom)
        e_mag = min(e_mag, float((cap / np.maximum(e_proj, 1e-9)).min()))
    return make_shape([(0.045, u(0.016, 0.022), e_mag * e_dir)], 0.0, 0.09)


def render_p_waves(vcg: np.ndarray, fs: float, beats: Beats, p_shape: Shape,
                   ectopic: Shape) -> None:
    """Add the sinus (or tracked) and the ectopic P waves to the vector loop, in place."""
    if beats.sinus_p.size:
        render(vcg, fs, beats.sinus_p, np.ones(beats.sinus_p.size), p_shape)
    if beats.ectopic_p.size:
        render(vcg, fs, beats.ectopic_p, np.ones(beats.ectopic_p.size), ectopic)


# --------------------------------------------------------------------------------------------
# Fibrillation and flutter waves (continuous, added to the leads)


def _fibrillation(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Unit-peak f-wave signal: 5-9 Hz, slowly frequency- and amplitude-modulated."""
    u = rng.uniform
    f0 = u(*F_WAVE_HZ)
    drift = 0.35 * np.sin(2 * np.pi * u(0.05, 0.2) * t + u(0, 2 * np.pi))
    freq = np.clip(f0 + drift, F_WAVE_HZ[0] - 0.3, F_WAVE_HZ[1] + 0.3)
    dt = t[1] - t[0] if t.size > 1 else 1.0
    phase = 2 * np.pi * np.cumsum(freq) * dt + u(0, 2 * np.pi)
    env = 0.75 + 0.25 * np.sin(2 * np.pi * u(0.1, 0.4) * t + u(0, 2 * np.pi))
    return env * (np.sin(phase) + 0.3 * np.sin(2 * phase + u(0, 2 * np.pi))) / 1.2


@lru_cache(maxsize=4)
def _flutter_cycle(points: int = 256) -> np.ndarray:
    """One typical (counter-clockwise) flutter cycle as seen in II: descent, sharp dip, rise."""
    x = np.array([0.0, 0.5, 0.72, 1.0])
    y = np.array([0.3, -0.35, -1.0, 0.3])
    cyc = np.interp(np.arange(points) / points, x, y)
    k = np.exp(-0.5 * (np.arange(-20, 21) / 6.0) ** 2)  # smooth the corners (circularly)
    wrapped = np.concatenate([cyc[-20:], cyc, cyc[:20]])
    cyc = np.convolve(wrapped, k / k.sum(), mode="same")[20:-20]
    return cyc - cyc.mean()


def add_flutter_waves(rng: np.random.Generator, leads8: np.ndarray, t: np.ndarray, p: Plan,
                      beats: Beats, lead8: np.ndarray, lead12: np.ndarray,
                      r_dom_ii: float) -> dict[str, Any]:
    """Add saw-tooth F waves to the independent leads, in place; their truth entries."""
    u = rng.uniform
    # dict.get evaluates its default first: both draws happen even when the rhythm set the
    # cycle and origin (flutter under pacing has neither); keep them, or every record changes.
    cycle = beats.extra.get("flutter_cycle_s", 60.0 / u(*FLUTTER_RATE))
    origin = beats.extra.get("flutter_origin_s", u(0, cycle))
    wave = _flutter_cycle()
    phase = ((t - origin) / cycle) % 1.0
    fw = wave[(phase * wave.size).astype(np.int64) % wave.size]
    # Typical flutter: the circuit's vector points inferiorly and back, so the F waves are
    # largest (and negative) in II, III and aVF and upright in V1.
    fdir = unit([u(0.0, 0.3), 1.0, -u(0.25, 0.45)])
    fproj = lead12 @ fdir
    fscale = min(u(*FLUTTER_P2P) / float(np.abs(fproj[[1, 2, 5]]).min()),
                 0.4 / float(np.abs(fproj[6:]).max())) / np.ptp(wave)
    fscale *= 0.6 if p.lqrsv else 1.0  # low voltage: flutter waves smaller too
    # in II, under 0.3 x the QRS height (II must still be read for its QRS)
    f_ii = abs(float(fproj[1])) * np.ptp(wave) * fscale
    fscale *= min(1.0, 0.3 * float(r_dom_ii) / max(f_ii, 1e-9))
    leads8 += np.outer(lead8 @ fdir * fscale, fw)
    return {"atrial_rate_bpm": 60.0 / cycle}


def add_fibrillation_waves(rng: np.random.Generator, leads8: np.ndarray, t: np.ndarray, p: Plan,
                           lead8: np.ndarray, lead12: np.ndarray) -> None:
    """Add f-waves (two independent sources) to the independent leads, in place."""
    u = rng.uniform
    # f-waves point forward and to the right: largest in V1, smaller in II
    fdir = unit([-u(0.2, 0.5), u(0.15, 0.45), u(0.7, 1.0)])
    f_scale = u(*F_WAVE_V1) / max(float((lead12 @ fdir)[6]), 1e-9)
    f_scale *= 0.75 if p.lqrsv else 1.0  # low voltage: smaller f-waves too
    fw = _fibrillation(rng, t)
    second = unit(rng.standard_normal(3)) * 0.35 * f_scale
    fw2 = _fibrillation(rng, t)
    leads8 += np.outer(lead8 @ fdir * f_scale, fw) + np.outer(lead8 @ second, fw2)
