"""A physiological 12-lead ECG model in which each scored Challenge 2020 class is visible.

The heart is a moving dipole ("vector loop"): every wave (P, the parts of the QRS, T, f and F
waves) is a 3-D vector times a Gaussian time course placed at each beat. Coordinates are x to
the patient's left, y inferior, z anterior. The limb leads are the ideal Einthoven projections
(I = x, II = x/2 + y*sqrt(3)/2; III, aVR, aVL, aVF derived from I and II, so Einthoven and
Goldberger hold exactly, noise included), and V1..V6 are the Dower (1980) precordial rows
(Frank X, Y, -Z), rescaled to lead I, rotated per record about the vertical axis (transition
zone) and given a per-record chest gain. A QRS is a sequence of activation forces (septal,
left-ventricular free wall, basal, and a delayed right-ventricular force in RBBB), so its
shape in each lead follows from the conduction class: rS in V1 and qR in V6 for a normal heart,
rsR' in V1 with a slurred S in I/V6 for RBBB, a notched leftward-posterior R without septal q
for LBBB, an inferior-right initial force followed by a left-superior one for LAnFB, a
superior (inferior MI) or posterior (anterior MI) initial force for pathological Q waves. The
frontal axis is the direction of the net QRS area and is solved for exactly. T is a single
asymmetric wave (or two opposite lobes) whose tangent-method end is placed at QRS onset + QT,
QT = QTc * sqrt(mean RR) (Bazett); its direction and size are chosen among random candidates
to meet the class's per-lead rules (see ``_design_t``).

Rhythm: sinus rhythm is an RR series with respiratory modulation (~1.5 %, or 16-30 % peak to
peak for sinus arrhythmia); atrial fibrillation is irregularly irregular (0.36 s + a gamma
wait) with 5-9 Hz f-waves; atrial flutter is a saw-tooth at 255-300 /min conducted 2:1 or 4:1;
pacing is regular with a one-sample stimulus before each wide paced QRS. Premature atrial
beats reset the sinus node (non-compensatory pause); premature ventricular beats leave it
alone (full compensatory pause, the sinus P hidden in the PVC's ST-T). All beats and leads are
rendered at once (no Python loop over beats or samples): beat windows are evaluated with
broadcasting and summed with ``np.bincount``.

Lead II stays readable for an R-peak detector in every class: its QRS is at least 0.45 mV
(0.2-0.4 with low voltage), and its P, T, flutter and paced-T waves are at most 0.2-0.45 of
that QRS height. Rates below 44 bpm, flutter above 300 /min and premature beats closer than
0.36 s (PAC) / 0.4 s (PVC) to the previous beat are left out: NeuroKit2's detector, the
reference measurement, does not resolve them.

Precedence when labels conflict (noted in ``ECG.truth['notes']`` for each record):
rhythm PR > AFL > AF > sinus (AF with AFL: flutter); sinus rate STach > SB/Brady > NSR;
Brady sets any rhythm's rate (AF 44-54, AFL 6:1 conduction, pacing 45-54); conduction LBBB >
RBBB > IRBBB, NSIVCB only widens another block (with IRBBB: 116-119 ms); LAnFB and LAD win over
RAD; TInv wins over TAb, TAb over a bundle branch block's secondary T; paced beats show no
intrinsic conduction, Q-wave or axis class except RAD (left-ventricular pacing) -- the default
RV apical pacing has a left-superior axis.

Speed (one core, this machine): about 3 ms for a 10 s, 500 Hz record and about 0.5 s for a
30 minute, 257 Hz record (printed by ``tests/data/test_ecg_model.py::test_speed``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import signal as sps

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# SNOMED CT codes of the 27 scored diagnoses.
IAVB, AF, AFL, BRADY = "270492004", "164889003", "164890007", "426627000"
CRBBB, IRBBB, LANFB, LAD = "713427006", "713426002", "445118002", "39732003"
LBBB, LQRSV, NSIVCB, PACING = "164909002", "251146004", "698252002", "10370003"
PAC, PVC, LPR, LQT = "284470004", "427172004", "164947007", "111975006"
QAB, RAD, RBBB, SA = "164917005", "47665007", "59118001", "427393009"
SB, NSR, STACH, SVPB = "426177001", "426783006", "427084000", "63593006"
TAB, TINV, VPB = "164934002", "59931005", "17338001"

# Parameter ranges (seconds, bpm, degrees, mV), drawn uniformly per record. Each sits inside
# the clinical definition with a margin, so that a measurement of the signal agrees with it.
RATE_NSR, RATE_SB = (62.0, 98.0), (44.0, 57.0)
RATE_BRADY, RATE_STACH = (44.0, 54.0), (104.0, 148.0)
RATE_AF, RATE_AF_BRADY = (70.0, 140.0), (44.0, 54.0)
RATE_PACED, RATE_PACED_BRADY = (60.0, 80.0), (45.0, 54.0)
FLUTTER_RATE = (255.0, 300.0)  # atrial, per minute
PR_NORMAL, PR_STACH, PR_IAVB, PR_LPR = (0.135, 0.19), (0.12, 0.16), (0.225, 0.34), (0.22, 0.28)
QRS_NORMAL, QRS_IRBBB, QRS_RBBB = (0.082, 0.102), (0.103, 0.112), (0.125, 0.16)
QRS_LBBB, QRS_NSIVCB = (0.135, 0.17), (0.122, 0.15)
QRS_PVC, QRS_PACED = (0.14, 0.18), (0.145, 0.18)
QRS_QAB = (0.095, 0.108)
QTC_NORMAL, QTC_LQT = (0.37, 0.425), (0.48, 0.55)
AXIS_NORMAL, AXIS_LAD = (-15.0, 85.0), (-80.0, -45.0)
AXIS_LANFB, AXIS_RAD = (-78.0, -55.0), (100.0, 140.0)
P_AMP_II, P_MAX = (0.08, 0.2), 0.2
F_WAVE_HZ, F_WAVE_V1 = (5.5, 8.5), (0.04, 0.1)
FLUTTER_P2P = (0.18, 0.25)
AF_CV, AF_MIN_RR = (0.16, 0.28), 0.36
SA_DEPTH, SA_PERIOD = (0.08, 0.15), (3.0, 6.0)
ECTOPY_PER_10S = (1.0, 4.0)
COUPLING = (0.55, 0.8)
LQRSV_LIMB, LQRSV_CHEST = (0.26, 0.42), (0.45, 0.85)
SPIKE_MV = (1.6, 5.0)

_SQ3 = np.sqrt(3.0) / 2.0
_SQ2PI = np.sqrt(2.0 * np.pi)

# Dower (1980) rows for V1..V6 from Frank X, Y, Z (Z positive backwards): flip Z to our anterior
# z and divide by Dower's lead-I X weight so that the chest leads are on the limb-lead scale.
_DOWER_CHEST = np.array(
    [
        [-0.515, 0.157, -0.917],
        [0.044, 0.164, -1.387],
        [0.882, 0.098, -1.277],
        [1.213, 0.127, -0.601],
        [1.125, 0.127, -0.086],
        [0.831, 0.076, 0.230],
    ]
) * np.array([1.0, 1.0, -1.0]) / 0.632


@dataclass(frozen=True)
class NoiseProfile:
    """Recording noise added to the clean signal (mV)."""

    white_mv: float = 0.01  # std of white (sensor) noise
    wander_mv: float = 0.08  # amplitude of baseline wander (a few 0.05-0.5 Hz sinusoids)
    mains_hz: float | None = 50.0  # power-line frequency (50 or 60), None = none
    mains_mv: float = 0.0  # its amplitude
    emg_mv: float = 0.0  # muscle-noise bursts (20-150 Hz), std during bursts


@dataclass
class ECG:
    """One generated record and its ground truth."""

    signal_mv: np.ndarray  # (12, n) float32, noisy, lead order of LEADS
    clean_mv: np.ndarray  # (12, n) float32, before noise
    fs: float
    labels: tuple[str, ...]
    truth: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClassDefinition:
    """How the generator shows one SNOMED CT code in the signal."""

    code: str
    abbreviation: str
    name: str
    generator: str
    ranges: str


# --------------------------------------------------------------------------------------------
# Geometry


def _lead_matrix(rotation_deg: float, chest_gain: float) -> np.ndarray:
    """8 x 3 projection onto I, II, V1..V6 (the independent leads)."""
    a = np.deg2rad(rotation_deg)
    rot = np.array([[np.cos(a), 0.0, -np.sin(a)], [0.0, 1.0, 0.0], [np.sin(a), 0.0, np.cos(a)]])
    chest = chest_gain * _DOWER_CHEST @ rot
    return np.vstack([[1.0, 0.0, 0.0], [0.5, _SQ3, 0.0], chest])


def _expand(eight: np.ndarray) -> np.ndarray:
    """(8, ...) independent leads -> (12, ...) with III, aVR, aVL, aVF derived from I and II."""
    i, ii = eight[0], eight[1]
    return np.stack([i, ii, ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2, *eight[2:]])


def _unit(v: Iterable[float]) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def _frontal(deg: float, z: float = 0.0, mag: float = 1.0) -> np.ndarray:
    a = np.deg2rad(deg)
    return mag * np.array([np.cos(a), np.sin(a), z])


# --------------------------------------------------------------------------------------------
# Wave shapes


@dataclass
class _Shape:
    """Gaussian components of one wave complex, times relative to the beat's onset (s)."""

    centers: np.ndarray
    sigmas: np.ndarray
    vecs: np.ndarray  # (m, 3)
    r_offset: float = 0.0  # the R fiducial
    duration: float = 0.0  # onset to end

    def sample(self, t: np.ndarray) -> np.ndarray:
        g = np.exp(-0.5 * ((t[None, :] - self.centers[:, None]) / self.sigmas[:, None]) ** 2)
        return self.vecs.T @ g  # (3, len(t))

    def area(self) -> np.ndarray:
        return (self.vecs * (self.sigmas * _SQ2PI)[:, None]).sum(axis=0)

    def scaled(self, k: float) -> _Shape:
        return _Shape(self.centers, self.sigmas, self.vecs * k, self.r_offset, self.duration)


def _shape(parts: list[tuple[float, float, np.ndarray]], r_offset: float,
           duration: float) -> _Shape:
    c, s, v = zip(*parts, strict=True)
    return _Shape(np.array(c), np.array(s), np.array(v, dtype=float), r_offset, duration)


def _solve_main(fixed_area_xy: np.ndarray, weight: float, target_deg: float) -> np.ndarray:
    """Frontal vector f of unit length-per-weight so that fixed + weight * f points at target.

    The main forces are scaled so that the total frontal QRS area has exactly the target angle
    (the frontal axis measured from the net QRS area of leads I and aVF).
    """
    u = np.array([np.cos(np.deg2rad(target_deg)), np.sin(np.deg2rad(target_deg))])
    us = float(u @ fixed_area_xy)
    perp = float(np.sqrt(max(float(fixed_area_xy @ fixed_area_xy) - us * us, 0.0)))
    # If the fixed forces are too strong, the main forces grow until they dominate.
    size = max(weight, 1.25 * float(np.hypot(us, perp)))
    lam = us + np.sqrt(max(us * us - float(fixed_area_xy @ fixed_area_xy) + size * size, 0.0))
    return (lam * u - fixed_area_xy) / weight


def _intrinsic_qrs(rng: np.random.Generator, conduction: str, lanfb: bool, qab: str | None,
                   axis: float, nsivcb: bool) -> _Shape:
    """The QRS of conducted beats (unit main force), by conduction class."""
    u = rng.uniform
    fixed: list[tuple[float, float, np.ndarray]] = []
    main: list[tuple[float, float, float, float]] = []  # centre, sigma, weight, z per |f|
    if conduction == "lbbb":
        d = u(*QRS_LBBB)
        # Septum activated from the left: no rightward initial force, so no q in I, aVL, V5, V6;
        # a tiny anterior force gives the r of rS in V1 in some records, QS in the others.
        if rng.random() < 0.5:
            fixed.append((0.12 * d, 0.06 * d, _frontal(60, 3.0, u(0.03, 0.06))))
        z1, z2 = -u(1.0, 1.4), -u(0.6, 1.0)
        main += [(0.34 * d, 0.125 * d, 1.0, z1), (0.66 * d, 0.12 * d, u(0.8, 1.1), z2)]
        r_off = 0.34 * d
    else:
        if conduction == "rbbb":
            d = u(*QRS_RBBB)
            if nsivcb:
                d = max(d, u(*QRS_NSIVCB))
        elif conduction == "irbbb":
            d = u(116e-3, 119e-3) if nsivcb else u(*QRS_IRBBB)
        elif nsivcb:
            d = u(*QRS_NSIVCB)
        elif qab:
            d = u(*QRS_QAB)
        else:
            d = u(*QRS_NORMAL)
        # The left-ventricular part keeps a normal duration in a right bundle branch block;
        # a non-specific delay (NSIVCB) slows all of it uniformly.
        lv = d if conduction == "normal" else min(d, u(0.082, 0.092))
        if conduction == "irbbb" and nsivcb:
            lv = d * u(0.8, 0.85)
        if qab == "inferior":  # initial forces away from the inferior wall: Q in II, III, aVF
            init = (0.25 * lv, 0.1 * lv, u(0.45, 0.7) * _unit([u(0.0, 0.3), -1.0, u(-0.1, 0.3)]))
        elif qab == "anterior":  # initial forces posterior: QS in V1-V3, Q in V4
            init = (0.25 * lv, 0.1 * lv, u(0.5, 0.75) * _unit([u(0.1, 0.4), u(0.0, 0.2), -1.0]))
        elif lanfb:  # initial forces inferior-right: q in I and aVL, r in II, III, aVF
            init = (0.17 * lv, 0.068 * lv, _frontal(u(110, 135), u(0.2, 0.5), u(0.15, 0.22)))
        elif axis < -30:  # a superior axis keeps an initial r in II, III, aVF (rS, not QS)
            init = (0.16 * lv, 0.064 * lv,
                    u(0.18, 0.26) * _unit([-u(0.3, 0.6), u(0.7, 1.0), u(0.5, 0.8)]))
        else:  # septal forces anterior and rightward: r in V1-V3, small q in I, aVL, V5, V6
            init = (0.16 * lv, 0.064 * lv,
                    u(0.12, 0.22) * _unit([-u(0.3, 0.55), u(0.2, 0.6), u(0.75, 1.0)]))
        fixed.append(init)
        main_c = (0.56 if qab else 0.45) * lv
        main.append((main_c, 0.1 * lv, 1.0, -u(0.35, 0.8)))
        # basal forces: posterior, superior, slightly rightward (the s of V5/V6, S of V1-V3)
        fixed.append((0.8 * lv, 0.08 * lv,
                      u(0.15, 0.3) * _unit([-u(0.1, 0.5), -u(0.3, 0.7), -u(0.5, 0.9)])))
        if conduction in ("rbbb", "irbbb"):
            # Delayed right-ventricular activation: a slow terminal rightward-anterior force,
            # the R' of V1/V2 and the wide slurred S of I, aVL, V5, V6.
            # The loop turns as it goes (anterior first, then rightward-superior), so the two
            # halves are separate forces rather than one fixed direction.
            sig = (d - lv + 0.02) / 5.0
            amp = u(0.35, 0.5) if conduction == "rbbb" else u(0.25, 0.4)
            late = d - 2.1 * sig  # where its slope fades into the noise
            first = _unit([-u(0.3, 0.6), u(-0.1, 0.3), u(0.8, 1.0)])
            last = _unit([-u(0.6, 0.9), -u(0.1, 0.4), u(0.3, 0.6)]) * u(0.7, 1.0)
            for k, w in enumerate((0.0, 0.5, 1.0)):
                fixed.append((late - (1.0 - w) * 1.6 * sig, sig,
                              amp * (0.75 if k != 1 else 1.0) * ((1 - w) * first + w * last)))
        r_off = main_c
    fixed_area = sum(v[:2] * s * _SQ2PI for _, s, v in fixed) if fixed else np.zeros(2)
    weight = sum(w * s * _SQ2PI for _, s, w, _ in main)
    f = _solve_main(np.asarray(fixed_area), weight, axis)
    norm = float(np.hypot(*f))
    parts = fixed + [(c, s, np.array([w * f[0], w * f[1], w * z * norm])) for c, s, w, z in main]
    return _shape(parts, r_off, d)


def _broad_qrs(rng: np.random.Generator, d: float, latency: float, axis: float,
               z: float, turn: float) -> _Shape:
    """A wide QRS spreading slowly through the myocardium (PVC, paced): two broad forces."""
    c1, c2 = latency + 0.3 * d, latency + 0.64 * d
    s1, s2 = 0.13 * d, 0.12 * d
    w2 = rng.uniform(0.6, 0.9)
    v2 = _frontal(axis + turn, 0.0, 1.0)
    fixed_area = w2 * s2 * _SQ2PI * v2[:2]
    f = _solve_main(fixed_area, s1 * _SQ2PI, axis)
    norm = float(np.hypot(*f))
    v1 = np.array([f[0], f[1], z * norm])
    v2[2] = z * w2 * 1.2
    shape = _shape([(c1, s1, v1), (c2, s2, w2 * v2)], c1, latency + d)
    # its R fiducial: where the QRS vector is largest
    t = np.arange(0.0, latency + d, 5e-4)
    shape.r_offset = float(t[int(np.argmax(np.linalg.norm(shape.sample(t), axis=0)))])
    return shape


def _peak_lead_stats(shape: _Shape, lead12: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead R (max positive) and peak-to-peak of a complex, at 0.5 ms resolution."""
    t = np.arange(-0.02, shape.duration + 0.03, 5e-4)
    leads = lead12 @ shape.sample(t)
    return leads.max(axis=1).clip(0.0), np.ptp(leads, axis=1)


# --------------------------------------------------------------------------------------------
# Rendering


def _train(n: int, fs: float, centers: np.ndarray, sigma: float | np.ndarray,
           amps: np.ndarray, sigma_right: float | np.ndarray | None = None) -> np.ndarray:
    """Sum over beats of amps * exp(-(t - c)^2 / 2 sigma^2) at t = i / fs (one bincount)."""
    if centers.size == 0:
        return np.zeros(n)
    sl = np.broadcast_to(np.asarray(sigma, dtype=float), centers.shape)
    sr = sl if sigma_right is None else np.broadcast_to(np.asarray(sigma_right, float),
                                                       centers.shape)
    left, right = int(np.ceil(4 * sl.max() * fs)), int(np.ceil(4 * sr.max() * fs))
    start = np.floor(centers * fs).astype(np.int64) - left
    idx = start[:, None] + np.arange(left + right + 2)
    u = idx / fs - centers[:, None]
    s = np.where(u < 0, sl[:, None], sr[:, None]) if sigma_right is not None else sl[:, None]
    vals = amps[:, None] * np.exp(-0.5 * (u / s) ** 2)
    keep = (idx >= 0) & (idx < n)
    return np.bincount(idx[keep], weights=vals[keep], minlength=n)


def _render(vcg: np.ndarray, fs: float, onsets: np.ndarray, amps: np.ndarray,
            shape: _Shape) -> None:
    """Add one complex at every onset (vectorised over beats; a loop over the few components)."""
    if onsets.size == 0:
        return
    for c, s, v in zip(shape.centers, shape.sigmas, shape.vecs, strict=True):
        vcg += v[:, None] * _train(vcg.shape[1], fs, onsets + c, s, amps)[None, :]


# --------------------------------------------------------------------------------------------
# Labels -> plan


@dataclass
class _Plan:
    rhythm: str = "sinus"  # sinus | af | afl | paced
    rate: tuple[float, float] = RATE_NSR
    sa: bool = False
    brady: bool = False
    pr: tuple[float, float] | None = PR_NORMAL
    conduction: str = "normal"  # normal | rbbb | irbbb | lbbb
    nsivcb: bool = False
    lanfb: bool = False
    axis_class: str = "normal"  # normal | lad | rad
    pac: bool = False
    pvc: bool = False
    lqt: bool = False
    tab: bool = False
    tinv: bool = False
    qab: bool = False
    lqrsv: bool = False
    notes: list[str] = field(default_factory=list)


def _plan(codes: set[str]) -> _Plan:
    p = _Plan()
    sinus_codes = codes & {NSR, SB, STACH, BRADY, SA}
    if PACING in codes:
        p.rhythm = "paced"
    elif AFL in codes:
        p.rhythm = "afl"
    elif AF in codes:
        p.rhythm = "af"
    if AF in codes and AFL in codes:
        p.notes.append("AF and AFL: flutter generated")
    if p.rhythm != "sinus" and sinus_codes - {BRADY}:
        p.notes.append(f"{p.rhythm} rhythm: sinus rate/variability codes ignored")
    p.brady = BRADY in codes
    if STACH in codes:
        p.rate = RATE_STACH
        if codes & {SB, BRADY}:
            p.notes.append("STach with SB/Brady: tachycardia generated")
    elif SB in codes and BRADY in codes:
        p.rate = (RATE_SB[0], RATE_BRADY[1])
    elif SB in codes:
        p.rate = RATE_SB
    elif BRADY in codes:
        p.rate = RATE_BRADY
    p.sa = SA in codes and p.rhythm == "sinus"
    if codes & {IAVB, LPR}:
        p.pr = (PR_IAVB[0], PR_LPR[1]) if {IAVB, LPR} <= codes else (
            PR_IAVB if IAVB in codes else PR_LPR)
    elif STACH in codes:
        p.pr = PR_STACH
    if LBBB in codes:
        p.conduction = "lbbb"
        if codes & {CRBBB, RBBB, IRBBB}:
            p.notes.append("LBBB with RBBB/IRBBB: LBBB morphology generated")
    elif codes & {CRBBB, RBBB}:
        p.conduction = "rbbb"
    elif IRBBB in codes:
        p.conduction = "irbbb"
    p.nsivcb = NSIVCB in codes
    p.lanfb = LANFB in codes
    if p.lanfb or LAD in codes:
        p.axis_class = "lad"
        if RAD in codes:
            p.notes.append("RAD with LAD/LAnFB: left axis generated")
    elif RAD in codes:
        p.axis_class = "rad"
    p.pac = bool(codes & {PAC, SVPB})
    p.pvc = bool(codes & {PVC, VPB})
    p.lqt, p.tab, p.tinv = LQT in codes, TAB in codes, TINV in codes
    p.qab, p.lqrsv = QAB in codes, LQRSV in codes
    if p.tab and p.tinv:
        p.notes.append("TAb with TInv: the inversion is the T abnormality")
    elif p.tab and p.conduction in ("rbbb", "lbbb"):
        p.notes.append("TAb with a bundle branch block: flat or biphasic T, not the secondary one")
    if p.rhythm == "paced" and (p.conduction != "normal" or p.nsivcb or p.lanfb or p.qab):
        p.notes.append("paced beats override the intrinsic QRS classes (seen in PACs only)")
    return p


# --------------------------------------------------------------------------------------------
# Rhythm


def _spaced(rng: np.random.Generator, lo: int, hi: int, k: int) -> np.ndarray:
    """k sorted beat indices in [lo, hi) with at least one normal beat between them."""
    m_all = hi - lo
    for gap in (3, 2):
        m = m_all - (k - 1) * (gap - 1)
        if m >= k:
            pick = np.sort(rng.choice(m, size=k, replace=False)) + np.arange(k) * (gap - 1)
            return lo + pick
    k = max(0, (m_all + 1) // 2)
    return lo + 2 * np.arange(k)


def _ar1(rng: np.random.Generator, n: int, sd: float, rho: float = 0.7) -> np.ndarray:
    e = rng.standard_normal(n) * sd * np.sqrt(1 - rho * rho)
    return sps.lfilter([1.0], [1.0, -rho], e)


@dataclass
class _Beats:
    onsets: np.ndarray  # QRS onset (paced: spike) times, s
    kinds: np.ndarray  # 'N', 'A', 'V', 'P'
    mean_rr: float
    sinus_p: np.ndarray  # onsets of sinus (or tracked) P waves, s
    ectopic_p: np.ndarray  # onsets of PAC P waves, s
    resp: np.ndarray  # respiratory phase at each beat (for amplitude modulation)
    extra: dict[str, Any]


def _rate(rng: np.random.Generator, p: _Plan) -> tuple[float, dict[str, Any]]:
    """Mean ventricular rate (bpm) of the rhythm."""
    u = rng.uniform
    extra: dict[str, Any] = {}
    if p.rhythm == "af":
        rate = u(*RATE_AF_BRADY) if p.brady else u(*RATE_AF)
    elif p.rhythm == "paced":
        rate = u(*RATE_PACED_BRADY) if p.brady else u(*RATE_PACED)
    elif p.rhythm == "afl":
        flutter = u(*FLUTTER_RATE)
        ratio = 6 if p.brady else int(rng.choice([2, 4]))
        rate = flutter / ratio
        extra.update(flutter_cycle_s=60.0 / flutter, conduction_ratio=ratio,
                     atrial_rate_bpm=flutter)
    else:
        rate = u(*p.rate)
    return rate, extra


def _beats(rng: np.random.Generator, p: _Plan, duration: float, rate: float, pr: float | None,
           pacing_mode: str | None, extra: dict[str, Any]) -> _Beats:
    u = rng.uniform
    mean_rr = 60.0 / rate
    nb = int((duration + 2.5) / (0.5 * mean_rr)) + 6
    k = np.arange(nb)
    period = u(SA_PERIOD[0], min(SA_PERIOD[1], max(SA_PERIOD[0], 0.9 * duration)))
    resp = 2 * np.pi * k * mean_rr / period + u(0, 2 * np.pi)
    start = -u(0.0, 1.0) * mean_rr - 0.35  # the first beat: before the record starts
    if p.rhythm == "sinus":
        depth = u(*SA_DEPTH) if p.sa else u(0.003, 0.012)
        noise_sd = 0.008 if p.sa else 0.012
        rr = mean_rr * (1 + depth * np.sin(resp) + _ar1(rng, nb, noise_sd))
        extra.update(resp_period_s=period, resp_depth=depth)
    elif p.rhythm == "af":
        # The AV node lets nothing through within 0.36 s: RR = 0.36 s + a gamma-distributed
        # wait, with the drawn mean and coefficient of variation (skewed, no pile-up).
        cv = u(*AF_CV)
        # (a gamma wait as irregular as an exponential at most: a fast AF is less irregular)
        cv = min(cv, max(AF_CV[0], 1.0 - AF_MIN_RR / mean_rr))
        excess, sd = max(mean_rr - AF_MIN_RR, 0.02), cv * mean_rr
        shape = (excess / sd) ** 2
        wait = rng.gamma(shape, excess / shape, size=nb)
        # A short record still shows the drawn irregularity: the intervals inside it get exactly
        # that mean and CV (a power of the waits, found by bisection, keeps them positive and
        # skewed). Twice, as the record's beats move a little with the first pass.
        for _ in range(2):
            first = start + np.concatenate([[0.0], np.cumsum(AF_MIN_RR + wait[1:])])
            r_near = first + 0.04  # about where the R peaks are (the record keeps those)
            seen = np.flatnonzero((r_near >= 0) & (r_near < duration))
            seen = seen[1:] if seen.size > 3 else np.arange(1, min(nb, 4))
            ratio = wait[seen] / wait[seen].mean()
            lo, hi = 0.05, 8.0
            for _ in range(40):  # bisection on the exponent (not a loop over beats)
                power = ratio ** (0.5 * (lo + hi))
                lo, hi = (0.5 * (lo + hi), hi) if power.std() / power.mean() < sd / excess else (
                    lo, 0.5 * (lo + hi))
            wait[seen] = excess * power / power.mean()
        rr = AF_MIN_RR + wait
        extra["rr_cv"] = cv
    else:
        rr = np.full(nb, mean_rr)
    nominal = rr.copy()
    onsets_nominal = start + np.concatenate([[0.0], np.cumsum(rr[1:])])
    kinds = np.full(nb, "P" if p.rhythm == "paced" else "N", dtype="<U1")

    # Premature beats: 1-4 per 10 s, at least one of each kind asked for, inside the record.
    want = [(kind, max(1, int(round(u(*ECTOPY_PER_10S) * duration / 10))))
            for kind, on in (("A", p.pac), ("V", p.pvc)) if on]
    pr_pac = (pr if pr is not None else u(*PR_NORMAL)) + u(0.0, 0.04)
    if want:
        # (with a beat before and one after it inside the record, for its pauses to show)
        inside = np.flatnonzero((onsets_nominal > 0.25 + mean_rr)
                                & (onsets_nominal < duration - 0.4 - 1.2 * mean_rr))
        lo, hi = (int(inside[0]), int(inside[-1]) + 1) if inside.size else (1, 2)
        total = sum(c for _, c in want)
        # premature beats stay a minority: at most one beat in three
        idx = _spaced(rng, lo, hi, min(total, max(len(want), (hi - lo + 2) // 3)))
        idx = rng.permutation(idx)
        counts = [c for _, c in want]
        if len(want) == 2 and idx.size >= 2:
            n_first = int(np.clip(round(idx.size * counts[0] / total), 1, idx.size - 1))
        else:
            n_first = idx.size
        split = [idx[:n_first], idx[n_first:]]
        for (kind, _), where in zip(want, split, strict=False):
            kinds[where] = kind
        c = u(*COUPLING, size=nb)
        a_idx, v_idx = np.flatnonzero(kinds == "A"), np.flatnonzero(kinds == "V")
        base = mean_rr if p.rhythm == "af" else nominal
        base = np.broadcast_to(base, (nb,))
        if p.rhythm in ("sinus", "paced"):
            # The PAC's own P comes no earlier than the previous ST-T (earlier, the AV node
            # would block it), so a long PR makes for a later PAC.
            c[a_idx] = np.clip((0.2 + pr_pac) / base[a_idx], c[a_idx], 0.85)
        rr[a_idx] = c[a_idx] * base[a_idx]
        if p.rhythm == "sinus" and pr is not None:
            # The PVC comes before its cycle's sinus P, which then hides in the PVC's ST-T.
            c[v_idx] = np.minimum(c[v_idx], np.maximum(1 - (pr + 0.03) / base[v_idx], 0.45))
        rr[v_idx] = c[v_idx] * base[v_idx]
        # nothing comes within 0.36 s (PAC: refractory AV node) or 0.4 s (PVC: ventricle)
        rr[a_idx], rr[v_idx] = np.maximum(rr[a_idx], AF_MIN_RR), np.maximum(rr[v_idx], 0.4)
        c[a_idx], c[v_idx] = rr[a_idx] / base[a_idx], rr[v_idx] / base[v_idx]
        if p.rhythm == "paced":  # the pacemaker senses the early beat and restarts its interval
            rr[a_idx + 1] = mean_rr * u(1.0, 1.08)
            rr[v_idx + 1] = mean_rr * u(1.0, 1.08)
        elif p.rhythm != "af":
            # PAC resets the sinus node (non-compensatory); a PVC does not (compensatory).
            stretch = u(1.0, 1.0 + np.clip(0.9 - c[a_idx], 0.0, 0.15))
            rr[a_idx + 1] = nominal[a_idx + 1] * stretch
            rr[v_idx + 1] = nominal[v_idx + 1] + (1 - c[v_idx]) * nominal[v_idx]
    onsets = start + np.concatenate([[0.0], np.cumsum(rr[1:])])
    keep = onsets < duration + 0.3
    onsets, kinds, resp = onsets[keep], kinds[keep], resp[keep]
    nominal = nominal[keep]
    inside = (onsets >= 0) & (onsets < duration)
    if inside.sum() >= 3 and p.rhythm == "af":
        # the QT follows the record's own mean rate (an AF record's can differ from the drawn)
        mean_rr = float(np.diff(onsets[inside]).mean())

    sinus_p = np.zeros(0)
    ectopic_p = np.zeros(0)
    if pr is not None:
        if p.rhythm == "sinus":
            # Every sinus cycle has a P; the PVC's cycle keeps its (non-conducted) P on time.
            when = onsets.copy()
            v_idx = np.flatnonzero(kinds == "V")
            when[v_idx] = onsets[v_idx - 1] + nominal[v_idx]
            sinus_p = when[kinds != "A"] - pr
        elif pacing_mode == "VAT":
            sinus_p = onsets[kinds == "P"] - pr
    if pacing_mode == "VVI-dissociated":
        # complete heart block under the pacemaker: sinus P waves march through at their own rate
        p_rr = 60.0 / u(62.0, 95.0)
        sinus_p = np.arange(-u(0, p_rr) - 0.3, duration + 0.3, p_rr)
    if p.rhythm in ("sinus", "paced") and (kinds == "A").any():
        ectopic_p = onsets[kinds == "A"] - pr_pac
        extra["pac_pr_s"] = pr_pac
    if p.rhythm == "afl":
        extra["flutter_origin_s"] = onsets[0] - u(0.18, 0.28)
    return _Beats(onsets, kinds, mean_rr, sinus_p, ectopic_p, resp, extra)


# --------------------------------------------------------------------------------------------
# Atrial activity (continuous)


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


# --------------------------------------------------------------------------------------------
# Noise


@lru_cache(maxsize=16)
def _emg_filter(fs: float) -> np.ndarray:
    high = min(150.0, 0.45 * fs)
    return sps.butter(4, [20.0, high], btype="bandpass", fs=fs, output="sos")


def _noise(rng: np.random.Generator, prof: NoiseProfile, n: int, fs: float,
           t: np.ndarray) -> np.ndarray:
    """(8, n) noise for I, II, V1..V6 (the derived leads inherit it through Einthoven)."""
    out = prof.white_mv * rng.standard_normal((8, n))
    if prof.wander_mv > 0:
        freqs = rng.uniform(0.05, 0.5, size=3)
        arg = 2 * np.pi * freqs[:, None] * t[None, :]
        basis = np.concatenate([np.sin(arg), np.cos(arg)])  # (6, n)
        weights = rng.dirichlet(np.ones(3)) * prof.wander_mv
        phase = rng.uniform(0, 2 * np.pi, size=(8, 3))
        gain = rng.uniform(0.5, 1.0, size=(8, 1)) * weights[None, :]
        coef = np.concatenate([gain * np.cos(phase), gain * np.sin(phase)], axis=1)
        out += coef @ basis
    if prof.mains_hz and prof.mains_mv > 0 and prof.mains_hz < fs / 2:
        arg = 2 * np.pi * prof.mains_hz * t
        phase = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.3, 0.3, size=(8, 1))
        gain = prof.mains_mv * rng.uniform(0.6, 1.0, size=(8, 1))
        out += gain * np.cos(phase) * np.sin(arg)[None, :] + gain * np.sin(phase) * np.cos(arg)
    if prof.emg_mv > 0:
        duration = n / fs
        count = rng.poisson(max(duration / 10 * rng.uniform(1.0, 3.0), 0.5)) + 1
        starts = rng.uniform(0, duration, size=count)
        stops = starts + rng.uniform(0.2, 1.5, size=count)
        box = np.zeros(n + 1)
        np.add.at(box, np.clip((starts * fs).astype(int), 0, n), 1.0)
        np.add.at(box, np.clip((stops * fs).astype(int), 0, n), -1.0)
        env = np.minimum(np.cumsum(box)[:n], 1.0)
        ramp = np.hanning(max(3, int(0.05 * fs)))
        env = np.convolve(env, ramp / ramp.sum(), mode="same")
        burst = sps.sosfilt(_emg_filter(float(fs)), rng.standard_normal((8, n)), axis=1)
        burst /= max(float(burst.std()), 1e-12)
        out += prof.emg_mv * rng.uniform(0.4, 1.0, size=(8, 1)) * env[None, :] * burst
    return out


# --------------------------------------------------------------------------------------------
# The generator


def _axis(rng: np.random.Generator, p: _Plan) -> float:
    """Frontal QRS axis. With low voltage it stays within 40-60 degrees of lead II (or of its
    opposite), or lead II's QRS would shrink to the size of its P and T waves."""
    if p.lanfb:
        lo, hi = AXIS_LANFB
    elif p.axis_class == "lad":
        lo, hi = AXIS_LAD
    elif p.axis_class == "rad":
        lo, hi = AXIS_RAD
    else:
        lo, hi = AXIS_NORMAL
        if p.conduction == "lbbb":  # a left bundle branch block's axis: normal to leftward
            hi = 60.0
    if p.lqrsv:
        lo, hi = (max(lo, 20.0), hi) if p.axis_class == "normal" else (
            (lo, min(hi, -60.0)) if p.axis_class == "lad" else (lo, min(hi, 120.0)))
    if p.axis_class != "normal" or p.lanfb:
        return float(rng.uniform(lo, hi))
    # Normal adults cluster around +45 degrees; the tails of the normal range are rarer.
    return float(np.clip(rng.normal(45.0, 22.0), lo, hi))


def _voltage_scale(rng: np.random.Generator, shape: _Shape, lead12: np.ndarray, p: _Plan,
                   normal_axis: bool) -> float:
    """Factor that brings a unit complex to adult limb-lead voltages (or low voltage)."""
    r12, p2p12 = _peak_lead_stats(shape, lead12)
    limb_p2p = float(p2p12[:6].max())
    if p.lqrsv:
        return float(rng.uniform(*LQRSV_LIMB)) / limb_p2p
    scale = rng.uniform(0.9, 1.9) / max(float(r12[:6].max()), 1e-9)
    r_ii = r12[1] * scale
    if r_ii > 1.8:
        scale *= 1.8 * rng.uniform(0.8, 0.97) / r_ii
    elif r_ii < 0.6 and normal_axis:
        # a normal axis puts lead II near the QRS vector: R of 0.6-0.9 mV, within a 2.4 mV limb
        scale *= min(rng.uniform(0.65, 0.9) / max(r_ii, 1e-3), 2.4 / (limb_p2p * scale))
    scale = max(scale, 0.75 / limb_p2p)
    # Lead II keeps a QRS of 0.45 mV or more (whatever the axis), within a 2.6 mV limb lead.
    if p2p12[1] * scale < 0.45:
        scale = min(0.45 / max(float(p2p12[1]), 1e-9), max(scale, 2.6 / limb_p2p))
    return float(scale)


_TINV_LEADS = {"inferior": (1, 5), "lateral": (0, 11), "anterior": (8, 9),
               "diffuse": (1, 5, 9, 10, 11)}  # where each T inversion pattern must show


def _design_t(rng: np.random.Generator, p: _Plan, axis: float, shape: _Shape,
              lead12: np.ndarray, tab_kind: str | None) -> tuple[np.ndarray, str | None]:
    """The T vector (its peak, mV) and the T-inversion pattern, if any.

    64 random candidates (direction and size) are scored against the per-lead rules of the
    record's class and the first one that breaks none is kept (else the least bad): normal T
    upright in I, II, aVF, V3-V6 where the QRS is R-dominant, at most 0.45 x R where R dominates
    and 0.45 x the QRS height in II (a detector must not take T for R), secondary T inversion
    in V1-V3 for RBBB, discordant ST-T for LBBB, primary inversion in two contiguous leads for
    TInv, flat or biphasic T in I, II, V4-V6 for TAb.
    """
    u, k = rng.uniform, 64
    r, p2p = _peak_lead_stats(shape, lead12)
    s, net = p2p - r, lead12 @ shape.area()
    dominant = (r > s) & (r >= 0.5)
    dominant[6:9] = False
    upper = np.r_[np.full(6, 0.6), np.full(6, 1.0)]
    upper = np.where(dominant, np.minimum(upper, 0.45 * r), upper)
    upper[1] = min(upper[1], 0.45 * p2p[1])
    if p.lqrsv:  # low voltage lowers T too
        upper[:6] = np.minimum(upper[:6], 0.3 * p2p[:6].max())
        upper[6:] = np.minimum(upper[6:], 0.3 * p2p[6:].max())
    # The T axis stays near the QRS axis (QRS-T angle < ~60 degrees) within -15..+80.
    if axis < -15.0:
        theta = np.clip(axis + u(25, 60, k), -15.0, 40.0)
    elif axis > 85.0:
        theta = np.clip(axis - u(20, 60, k), 40.0, 80.0)
    else:
        theta = np.clip(axis + u(-25, 25, k), 15.0, 70.0)
    a = np.deg2rad(theta)
    normal = np.stack([np.cos(a), np.sin(a), u(0.0, 0.7, k)], axis=1)
    size = u(0.15, 0.9, k) * (0.5 if p.lqrsv else 1.0)

    def best(dirs: np.ndarray, lower: np.ndarray, upper_signed: np.ndarray) -> tuple[int, float]:
        """The first candidate direction with a size that meets lower <= T <= upper_signed and
        |T| <= upper in every lead (the drawn size moved into the allowed range); else the
        least bad. Sizes are written back into `size`."""
        proj = dirs / np.linalg.norm(dirs, axis=1, keepdims=True) @ lead12.T
        with np.errstate(divide="ignore", invalid="ignore"):
            pos, neg = proj > 1e-9, proj < -1e-9
            lo_b = np.where(pos & np.isfinite(lower), lower / proj, -np.inf)
            lo_b = np.maximum(lo_b, np.where(neg & np.isfinite(upper_signed),
                                             upper_signed / proj, -np.inf))
            hi_b = np.where(pos & np.isfinite(upper_signed), upper_signed / proj, np.inf)
            hi_b = np.minimum(hi_b, np.where(neg & np.isfinite(lower), lower / proj, np.inf))
            hi_b = np.minimum(hi_b, np.where(pos | neg, upper / np.abs(proj), np.inf))
        s_lo = np.maximum(lo_b.max(axis=1), 0.03)
        s_hi = hi_b.min(axis=1)
        size[:] = np.clip(size, s_lo, np.maximum(s_lo, s_hi))
        amp = size[:, None] * proj
        # the upper bounds (T < R, and T in II < its QRS) matter most when nothing fits
        bad = (10 * np.maximum(np.abs(amp) - upper, 0) + np.maximum(lower - amp, 0)
               + np.maximum(amp - upper_signed, 0)).sum(axis=1)
        i = int(np.argmin(bad))
        return i, float(bad[i])

    no_low, no_high = np.full(12, -np.inf), np.full(12, np.inf)
    upright = np.zeros(12, dtype=bool)
    upright[[0, 1, 5, 8, 9, 10, 11]] = True
    upright &= r > s
    if axis >= -15.0 and axis <= 85.0 and p.conduction in ("normal", "irbbb"):
        upright[8] = True  # V3 in a normal heart
    lower = np.where(upright, np.minimum(0.12, 0.5 * upper), no_low)
    if p.tinv:
        options = []
        for pattern in rng.permutation(list(_TINV_LEADS)):
            if pattern == "inferior":
                a2 = np.deg2rad(u(-95, -45, k))
                dirs = np.stack([np.cos(a2), np.sin(a2), u(0.0, 0.5, k)], axis=1)
            elif pattern == "lateral":
                a2 = np.deg2rad(u(110, 170, k))
                dirs = np.stack([np.cos(a2), np.sin(a2), u(-0.3, 0.3, k)], axis=1)
            elif pattern == "anterior":
                dirs = np.c_[normal[:, :2] * u(0.2, 0.6, k)[:, None], -np.ones(k)]
            else:
                dirs = -normal
            high = no_high.copy()
            high[list(_TINV_LEADS[pattern])] = -0.15
            low = np.full(12, -0.5)  # the deepest inversion 0.5 mV
            i, bad = best(dirs, low, high)
            options.append((bad, str(pattern), size[i] * _unit(dirs[i])))
            if bad == 0.0:
                break
        bad, pattern, vec = min(options, key=lambda o: o[0])
        return vec, pattern
    if tab_kind == "flat":  # T under 0.07 mV and 7 % of R in I, II, V4-V6 (and small elsewhere)
        d = _unit(normal[0])
        proj = np.abs(lead12 @ d)
        key = [0, 1, 9, 10, 11]
        limit = np.minimum(0.07, 0.07 * np.maximum(r[key], 0.3))
        return d * min(float((limit / np.maximum(proj[key], 1e-9)).min()),
                       0.09 / float(proj.max())), None
    if tab_kind == "biphasic":  # two opposite lobes, each 0.06 mV or more in I, II, V4-V6
        low = no_low.copy()
        low[[0, 1, 9, 10, 11]] = 0.06
        i, _ = best(normal, low, np.minimum(no_high, 0.3))
        return size[i] * _unit(normal[i]), None
    if p.conduction == "lbbb":  # discordant ST-T, a third of the QRS or less
        upper[:] = np.minimum(upper, 0.35 * p2p)
        dirs = -_unit(shape.area())[None, :] + 0.3 * rng.standard_normal((k, 3))
        low, high = no_low.copy(), no_high.copy()
        lateral = [j for j in (0, 4, 10, 11) if net[j] > 0]
        high[lateral] = -0.1
        low[[j for j in (6, 7) if net[j] < 0]] = 0.1
        i, _ = best(dirs, low, high)
        return size[i] * _unit(dirs[i]), None
    if p.conduction == "rbbb":
        # Secondary inversion in V1-V3: T turned away from the late anterior RV forces.
        dirs = normal.copy()
        dirs[:, 2] = -u(0.3, 1.4, k)
        high = no_high.copy()
        high[[6, 7, 8]] = -0.05
        low = np.where(upright & (np.arange(12) != 8), np.minimum(0.08, 0.8 * upper), no_low)
        i, _ = best(dirs, low, high)
        return size[i] * _unit(dirs[i]), None
    i, _ = best(normal, lower, no_high)
    return size[i] * _unit(normal[i]), None


def generate_ecg(rng: np.random.Generator, labels: Iterable[str], *, fs: float, duration_s: float,
                 amplitude: float = 1.0, noise: NoiseProfile | None = None) -> ECG:
    """One 12-lead record showing the given SNOMED CT codes (unknown codes are ignored)."""
    labels = tuple(str(code) for code in labels)
    codes = {code.strip() for code in labels}
    noise = NoiseProfile() if noise is None else noise
    fs = float(fs)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs
    u = rng.uniform
    p = _plan(codes)

    # Geometry of this chest: transition zone rotation and chest-lead gain.
    rotation = u(-12.0, 12.0)
    lead8_unit = _lead_matrix(rotation, 1.0)
    lead12_unit = _expand(lead8_unit)

    # ---- QRS shapes
    axis = _axis(rng, p)
    qab_territory = str(rng.choice(["inferior", "anterior"])) if p.qab else None
    intrinsic = _intrinsic_qrs(rng, p.conduction, p.lanfb, qab_territory, axis, p.nsivcb)
    paced_axis = None
    if p.rhythm == "paced":
        # RV apical pacing: left-superior axis, posterior (LBBB-like) forces; RAD: LV pacing.
        if p.axis_class == "rad":
            paced_axis, z = u(100, 135), u(-0.2, 0.3)
        else:
            paced_axis, z = u(-85, -50), -u(0.6, 1.0)
        paced = _broad_qrs(rng, u(*QRS_PACED), u(0.015, 0.025), paced_axis, z, u(-30, 30))
        dominant = paced
    else:
        paced = None
        dominant = intrinsic

    if qab_territory != "anterior" and p.conduction in ("normal", "irbbb"):
        # Normal R-wave progression: R taller than S by V5 (the main force less posterior).
        main = int(np.argmax(np.linalg.norm(intrinsic.vecs, axis=1)))
        vecs = intrinsic.vecs.copy()
        for factor in (1.0, 0.75, 0.5, 0.25, 0.0, -0.25):
            trial = _Shape(intrinsic.centers, intrinsic.sigmas, vecs * np.where(
                np.arange(len(vecs))[:, None] == main, [1.0, 1.0, factor], 1.0),
                intrinsic.r_offset, intrinsic.duration)
            r_v, p2p_v = _peak_lead_stats(trial, lead12_unit)
            if r_v[10] > 1.2 * (p2p_v[10] - r_v[10]) and r_v[11] > 1.2 * (p2p_v[11] - r_v[11]):
                break
        intrinsic = trial
    if qab_territory is None and p.conduction != "lbbb" and not p.lanfb and axis >= -30:
        # The septal r of V1-V3 must show (7 % of the largest chest deflection or more), or
        # they read as QS (a Q wave).
        early = np.arange(0.0, 0.45 * intrinsic.duration, 5e-4)
        r_v13 = float((lead12_unit[[6, 7, 8]] @ intrinsic.sample(early)).max(axis=1).min())
        want = 0.07 * float(_peak_lead_stats(intrinsic, lead12_unit)[1][6:].max())
        if r_v13 < want:
            vecs = intrinsic.vecs.copy()
            vecs[0] *= min(3.0, want * u(1.0, 1.5) / max(r_v13, 0.01 * want))
            # and the main force turns a little so that the net QRS keeps its axis
            main = int(np.argmax(np.linalg.norm(vecs, axis=1)))
            others = np.delete(np.arange(len(vecs)), main)
            fixed_area = (vecs[others, :2] * intrinsic.sigmas[others, None]).sum(axis=0)
            f = _solve_main(fixed_area * _SQ2PI, intrinsic.sigmas[main] * _SQ2PI, axis)
            z_per = vecs[main, 2] / max(float(np.hypot(*vecs[main, :2])), 1e-9)
            vecs[main] = [f[0], f[1], z_per * float(np.hypot(*f))]
            intrinsic = _Shape(intrinsic.centers, intrinsic.sigmas, vecs, intrinsic.r_offset,
                               intrinsic.duration)
    # Voltage: scale each complex to lead II / limb targets, then pick the chest gain from the
    # dominant one (the same chest for every beat kind).
    scale_int = _voltage_scale(rng, intrinsic, lead12_unit, p, normal_axis=p.axis_class == "normal")
    intrinsic = intrinsic.scaled(scale_int)
    if paced is not None:
        paced = paced.scaled(_voltage_scale(rng, paced, lead12_unit, p, normal_axis=False))
    dominant = paced if paced is not None else intrinsic
    chest_p2p = float(_peak_lead_stats(dominant, lead12_unit)[1][6:].max())
    chest_target = u(*LQRSV_CHEST) if p.lqrsv else u(1.3, 3.0)
    chest_gain = float(np.clip(chest_target / chest_p2p, 0.25 if p.lqrsv else 0.6, 1.6))
    lead8 = _lead_matrix(rotation, chest_gain)
    lead12 = _expand(lead8)
    r_dom, p2p_dom = _peak_lead_stats(dominant, lead12)

    pvc_shape = None
    if p.pvc:
        # A unifocal PVC whose axis differs from the dominant one by more than 60 degrees, as
        # large as the dominant QRS in lead II at least (not one that is isoelectric in II).
        foci = {"RVOT": (u(70, 100), -u(0.6, 1.0)), "LV": (u(-170, -110), u(0.4, 0.8)),
                "RV apex": (u(-90, -50), -u(0.5, 0.9)), "LV septal": (u(150, 190), u(0.3, 0.7))}
        dom_axis = paced_axis if paced_axis is not None else axis
        width = min(u(*QRS_PVC) + (0.015 if p.conduction != "normal" or p.nsivcb else 0.0), 0.2)
        dom_p2p = _peak_lead_stats(dominant, lead12)[1]
        grow = u(1.4, 2.2)
        cap = np.inf if p.lqrsv else u(2.5, 4.0)  # 1.4-2.2 x the largest lead, within 2.5-4 mV
        candidates = []
        for name in rng.permutation(list(foci)):
            focus_axis, z = foci[str(name)]
            if abs((focus_axis - dom_axis + 180) % 360 - 180) <= 60:
                continue
            shape = _broad_qrs(rng, width, 0.0, focus_axis, z, u(-50, 50))
            pvc_p2p = _peak_lead_stats(shape, lead12)[1]
            shape = shape.scaled(min(float(dom_p2p.max()) * grow, cap) / float(pvc_p2p.max()))
            ii = float(_peak_lead_stats(shape, lead12)[1][1])
            candidates.append((ii >= float(dom_p2p[1]), ii, shape))
        pvc_shape = max(candidates, key=lambda c: (c[0], c[1] if not c[0] else 0.0))[2]

    # ---- T waves
    qtc = u(*QTC_LQT) if p.lqt else u(*QTC_NORMAL)
    tab_kind = str(rng.choice(["flat", "biphasic"])) if p.tab and not p.tinv else None
    t_vec, tinv_pattern = _design_t(rng, p, axis, intrinsic, lead12, tab_kind)
    t_proj = lead12 @ t_vec
    r_dom_ii = _peak_lead_stats(dominant, lead12)[1][1]
    k_down = u(0.085, 0.1)
    k_up = k_down * u(1.3, 1.6)

    # ---- P waves
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
    dp = u(0.085, 0.11)
    rate, rhythm_extra = _rate(rng, p)
    if pr is not None and p.pr in (PR_IAVB, PR_LPR, (PR_IAVB[0], PR_LPR[1])):
        # A long PR must leave its P wave visible, clear of the previous T wave.
        room = 60.0 / rate - qtc * np.sqrt(60.0 / rate) - 0.04
        pr = float(np.clip(room, p.pr[0], pr))
    ra = _unit([u(-0.1, 0.3), 1.0, u(0.2, 0.6)])
    la = _unit([1.0, u(0.2, 0.6), -u(0.4, 0.8)]) * u(0.8, 1.2)
    p_shape = _shape([(0.32 * dp, 0.13 * dp, ra), (0.62 * dp, 0.13 * dp, la)], 0.0, dp)
    p_r, p_p2p = _peak_lead_stats(p_shape, lead12)
    p_lead_max = np.maximum(p_r, p_p2p - p_r)
    # P in II 0.08-0.2 mV (at most 0.2 x the QRS height in II, so that II keeps a dominant QRS
    # when the axis is nearly perpendicular to it or the voltage is low), <= 0.2 mV in any lead
    # (with low voltage, under 0.2 x the largest QRS of the limb or chest leads).
    p_ii = min(u(*P_AMP_II), max(0.18 * float(r_dom_ii), 0.04) if p.lqrsv else
               max(0.2 * float(r_dom_ii), 0.06))
    p_scale = min(p_ii / max(p_r[1], 1e-9), P_MAX / p_lead_max.max())
    if p.lqrsv:
        cap = np.r_[np.full(6, p2p_dom[:6].max()), np.full(6, p2p_dom[6:].max())] * 0.2
        p_scale = min(p_scale, float((cap / np.maximum(p_lead_max, 1e-9)).min()))
    p_shape = p_shape.scaled(p_scale)
    # PAC focus: low atrial (P inverted in II, III, aVF) or left atrial (inverted in I, V6),
    # one whose P points away from the sinus P in the leads (so it looks different in them);
    # 0.12-0.2 mV in its largest lead, like a sinus P.
    t_fine = np.arange(0.0, dp, 5e-4)
    sinus_leads = lead8 @ p_shape.sample(t_fine)
    sinus_vec = sinus_leads[:, int(np.argmax(np.linalg.norm(sinus_leads, axis=0)))]
    low = rng.random(16) < 0.6
    foci = np.where(low, u(-100, -60, 16), u(140, 175, 16))
    dirs = np.stack([_frontal(f, z) for f, z in zip(foci, u(-0.3, 0.3, 16), strict=True)])
    proj = dirs @ lead8.T
    cos = proj @ sinus_vec / (np.linalg.norm(proj, axis=1) * np.linalg.norm(sinus_vec))
    e_dir = dirs[int(np.argmax(cos < 0.2)) if (cos < 0.2).any() else int(np.argmin(cos))]
    e_proj = np.abs(lead12 @ e_dir)
    e_mag = u(0.12, 0.2) / float(e_proj.max())
    # like the sinus P: at most 0.2 x the QRS height in II (and low with low voltage)
    e_mag = min(e_mag, max(0.2 * float(r_dom_ii), 0.04) / max(float(e_proj[1]), 1e-9))
    if p.lqrsv:
        e_mag = min(e_mag, float((cap / np.maximum(e_proj, 1e-9)).min()))
    ectopic_p_shape = _shape([(0.045, u(0.016, 0.022), e_mag * e_dir)], 0.0, 0.09)

    # ---- Rhythm
    beats = _beats(rng, p, duration_s, rate, pr, pacing_mode, rhythm_extra)
    on, kinds = beats.onsets, beats.kinds
    nb = on.size
    # Respiration swings the QRS voltage by a few per cent (the heart's position changes); the
    # T wave follows it only weakly.
    amps = 1.0 + 0.04 * np.sin(beats.resp) + 0.01 * rng.standard_normal(nb)
    t_amps = 1.0 + 0.01 * np.sin(beats.resp)
    # QT follows the heart rate (Bazett at the mean RR). Its beat-to-beat restitution is left
    # out: every normal beat has the same T, which premature-beat analysis relies on. A wide
    # QRS lengthens the QT by half its extra width (the JT stays about normal), and the drawn
    # QTc gives way so that a record without LQT still measures 425 ms or less.
    root = float(np.sqrt(np.clip(beats.mean_rr, 0.25, 2.0)))
    widening = 0.5 * max(intrinsic.duration - 0.1, 0.0)
    if not p.lqt:
        qtc = max(min(qtc, 0.425 - widening / root), QTC_NORMAL[0] - 0.02)
    qt_beat = qtc * root + widening
    qt = np.full(nb, qt_beat)

    vcg = np.zeros((3, n))
    shapes = {"N": intrinsic, "A": intrinsic, "V": pvc_shape, "P": paced}
    for kind in ("N", "A", "V", "P"):
        sel = kinds == kind
        if sel.any():
            _render(vcg, fs, on[sel], amps[sel], shapes[kind])
    # T waves: tangent-method end at onset + QT (peak two falling sigmas before it).
    conducted = (kinds == "N") | (kinds == "A")
    # The T wave fills the JT interval: a wide QRS (same QT) leaves it less room, not no ST.
    jt_room = np.clip((qt[conducted] - intrinsic.duration) / (qt[conducted] - 0.09), 0.65, 1.05)
    sd = k_down * qt[conducted] * jt_room
    t_end = on[conducted] + qt[conducted]
    if tab_kind == "biphasic":
        s_lobe = 0.9 * sd
        sign = 1.0 if rng.random() < 0.5 else -1.0
        lobe2 = t_end - 2 * s_lobe
        for centre, sgn in ((lobe2 - 2.6 * s_lobe, sign), (lobe2, -sign)):
            lobe = _train(n, fs, centre, s_lobe, t_amps[conducted])
            vcg += sgn * t_vec[:, None] * lobe[None, :]
    else:
        vcg += t_vec[:, None] * _train(n, fs, t_end - 2 * sd, k_up / k_down * sd,
                                       t_amps[conducted], sd)[None, :]
    for kind, shape in (("V", pvc_shape), ("P", paced)):
        sel = kinds == kind
        if shape is None or not sel.any():
            continue
        # Secondary (discordant) T of a wide beat: opposite to the net QRS, large, filling the
        # JT interval from a short ST segment on; the QT is longer by half the extra QRS width.
        tv = -_unit(shape.area()) * 0.3 * float(np.abs(shape.vecs).max()) * u(0.8, 1.2)
        # in lead II under 0.3 x the complex's height there (II is read for its QRS)
        _, wide_p2p = _peak_lead_stats(shape, lead12)
        tv *= min(1.0, 0.3 * float(wide_p2p[1]) / max(abs(float(lead12[1] @ tv)), 1e-9))
        qt_w = qtc * np.sqrt(beats.mean_rr) + 0.5 * (shape.duration - 0.09) + u(0.0, 0.03)
        sdw = (qt_w - shape.duration - 0.03) / 5.75  # start = end - 2 sd - 2.5 * 1.5 sd
        ends = on[sel] + qt_w
        vcg += tv[:, None] * _train(n, fs, ends - 2 * sdw, 1.5 * sdw, t_amps[sel], sdw)[None, :]
    # P waves
    if beats.sinus_p.size:
        _render(vcg, fs, beats.sinus_p, np.ones(beats.sinus_p.size), p_shape)
    if beats.ectopic_p.size:
        _render(vcg, fs, beats.ectopic_p, np.ones(beats.ectopic_p.size), ectopic_p_shape)

    leads8 = lead8 @ vcg
    spikes = np.zeros(0, dtype=np.int64)
    if paced is not None:
        # Pacing stimulus: one sample at full height (<= 2 ms at any fs), 1.5-5 mV somewhere.
        sdir = _unit(rng.standard_normal(3) + np.array([0.0, -1.0, -0.5]))
        proj = lead12 @ sdir
        svec8 = lead8 @ sdir * (u(*SPIKE_MV) / float(np.abs(proj).max()))
        spikes = np.round(on[kinds == "P"] * fs).astype(np.int64)
        spikes = spikes[(spikes >= 0) & (spikes < n)]
        leads8[:, spikes] += svec8[:, None]
    atrial: dict[str, Any] = {}
    if p.rhythm == "afl" or (AFL in codes and p.rhythm == "paced"):
        cycle = beats.extra.get("flutter_cycle_s", 60.0 / u(*FLUTTER_RATE))
        origin = beats.extra.get("flutter_origin_s", u(0, cycle))
        wave = _flutter_cycle()
        phase = ((t - origin) / cycle) % 1.0
        fw = wave[(phase * wave.size).astype(np.int64) % wave.size]
        # Typical flutter: the circuit's vector points inferiorly and back, so the F waves are
        # largest (and negative) in II, III and aVF and upright in V1.
        fdir = _unit([u(0.0, 0.3), 1.0, -u(0.25, 0.45)])
        fproj = lead12 @ fdir
        fscale = min(u(*FLUTTER_P2P) / float(np.abs(fproj[[1, 2, 5]]).min()),
                     0.4 / float(np.abs(fproj[6:]).max())) / np.ptp(wave)
        fscale *= 0.6 if p.lqrsv else 1.0  # low voltage: flutter waves smaller too
        # in II, under 0.3 x the QRS height (II must still be read for its QRS)
        f_ii = abs(float(fproj[1])) * np.ptp(wave) * fscale
        fscale *= min(1.0, 0.3 * float(r_dom_ii) / max(f_ii, 1e-9))
        leads8 += np.outer(lead8 @ fdir * fscale, fw)
        atrial = {"atrial_rate_bpm": 60.0 / cycle}
    elif AF in codes:
        # f-waves point forward and to the right: largest in V1, smaller in II
        fdir = _unit([-u(0.2, 0.5), u(0.15, 0.45), u(0.7, 1.0)])
        f_scale = u(*F_WAVE_V1) / max(float((lead12 @ fdir)[6]), 1e-9)
        f_scale *= 0.75 if p.lqrsv else 1.0  # low voltage: smaller f-waves too
        fw = _fibrillation(rng, t)
        second = _unit(rng.standard_normal(3)) * 0.35 * f_scale
        fw2 = _fibrillation(rng, t)
        leads8 += np.outer(lead8 @ fdir * f_scale, fw) + np.outer(lead8 @ second, fw2)
    leads8 *= amplitude

    clean8 = leads8
    noisy8 = clean8 + _noise(rng, noise, n, fs, t)
    clean = _expand(clean8.astype(np.float32))
    signal = _expand(noisy8.astype(np.float32))

    # ---- truth
    p_wave = lead12 @ p_shape.sample(t_fine)
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
        "pr_ms": None if pr is None else 1000 * pr,
        "qrs_ms": 1000 * dominant.duration,
        "qt_ms": qt_ms,
        "qtc_ms": qt_ms / root,
        "axis_deg": float(np.degrees(np.arctan2(area[1], area[0]))),
        "p_waves": bool(beats.sinus_p.size or beats.ectopic_p.size),
        "rhythm": {"sinus": "sinus arrhythmia" if p.sa else "sinus", "af": "atrial fibrillation",
                   "afl": "atrial flutter", "paced": "paced"}[p.rhythm],
        "conduction": p.conduction if not p.nsivcb or p.conduction != "normal" else "nsivcb",
        "pacing_mode": pacing_mode,
        "pacing_spikes": spikes,
        "tinv_pattern": tinv_pattern,
        "tab_kind": tab_kind,
        "qab_territory": qab_territory,
        "qrs_lead_p2p_mv": p2p_dom * amplitude,
        "r_lead_mv": r_dom * amplitude,
        "t_lead_mv": t_proj * amplitude,
        "p_lead_mv": p_peak * amplitude if beats.sinus_p.size else None,
        "precordial_rotation_deg": rotation,
        "chest_gain": chest_gain,
        "notes": tuple(p.notes),
        **beats.extra,
        **atrial,
    }
    if pvc_shape is not None:
        truth["pvc_qrs_ms"] = 1000 * pvc_shape.duration
    if intrinsic is not dominant:
        truth["intrinsic_qrs_ms"] = 1000 * intrinsic.duration
    return ECG(signal, clean, fs, labels, truth)


# --------------------------------------------------------------------------------------------
# What each code does to the signal (for the README)


def _r(lo_hi: tuple[float, float], scale: float = 1.0) -> str:
    lo, hi = lo_hi[0] * scale, lo_hi[1] * scale
    return f"{lo:g} to {hi:g}" if lo < 0 else f"{lo:g}-{hi:g}"


_RBBB_TEXT = ("QRS widened by a slow terminal right-ventricular force turning from anterior to "
              "rightward: rsR' in V1/V2, wide slurred S in I, aVL, V5, V6; T turned away from it "
              "(inverted V1-V3)")
_PAC_TEXT = ("premature beats with an early ectopic P (low-atrial or left-atrial axis, may sit on "
             "the T), the normal narrow QRS, sinus node reset (non-compensatory pause)")
_PVC_TEXT = ("premature wide beats from a ventricular focus (RVOT, RV apex, LV, septum) whose axis "
             "differs from the QRS axis by > 60 degrees, no preceding P, large discordant T, full "
             "compensatory pause (sinus P hidden in the ST-T)")

CLASS_DEFINITIONS: tuple[ClassDefinition, ...] = (
    ClassDefinition(NSR, "NSR", "sinus rhythm",
                    "P before every QRS, RR variability ~1.5 % (respiratory + random)",
                    f"rate {_r(RATE_NSR)} bpm, PR {_r(PR_NORMAL, 1000)} ms"),
    ClassDefinition(SB, "SB", "sinus bradycardia", "sinus rhythm, slow",
                    f"rate {_r(RATE_SB)} bpm"),
    ClassDefinition(STACH, "STach", "sinus tachycardia", "sinus rhythm, fast, shorter PR",
                    f"rate {_r(RATE_STACH)} bpm, PR {_r(PR_STACH, 1000)} ms"),
    ClassDefinition(BRADY, "Brady", "bradycardia", "slows whatever rhythm is generated",
                    f"sinus {_r(RATE_BRADY)}, AF {_r(RATE_AF_BRADY)}, paced "
                    f"{_r(RATE_PACED_BRADY)} bpm, flutter 6:1"),
    ClassDefinition(SA, "SA", "sinus arrhythmia",
                    "sinus rhythm with respiratory RR modulation (phasic)",
                    f"depth +-{_r(SA_DEPTH, 100)} % of RR (max-min > 16 %), period "
                    f"{_r(SA_PERIOD)} s"),
    ClassDefinition(AF, "AF", "atrial fibrillation",
                    "no P waves; frequency-modulated f-waves largest in V1; irregularly irregular "
                    "RR (0.36 s + gamma)",
                    f"f {_r(F_WAVE_HZ)} Hz, {_r(F_WAVE_V1)} mV in V1, RR CV {_r(AF_CV)} (at "
                    f"most 1 - 0.36 s / mean RR), rate {_r(RATE_AF)} bpm"),
    ClassDefinition(AFL, "AFL", "atrial flutter",
                    "no P waves; saw-tooth F waves (negative in II, III, aVF, positive in V1), "
                    "fixed 2:1 or 4:1 conduction (RR an exact multiple of the flutter cycle)",
                    f"atrial {_r(FLUTTER_RATE)} /min, {_r(FLUTTER_P2P)} mV peak-to-peak in II, "
                    "III, aVF (x0.6 with LQRSV; under 0.3 x the QRS in II)"),
    ClassDefinition(PACING, "PR", "pacing rhythm",
                    "one-sample pacing spike then a wide LBBB-like paced QRS (RV apex, left-"
                    "superior axis; LV pacing if RAD) with discordant T; VAT (tracked sinus P), "
                    "VVI, or VVI with dissociated sinus P",
                    f"rate {_r(RATE_PACED)} bpm, spike {_r(SPIKE_MV)} mV, QRS "
                    f"{_r(QRS_PACED, 1000)} ms + 15-25 ms latency"),
    ClassDefinition(IAVB, "IAVB", "1st degree AV block", "long PR, P kept clear of the T",
                    f"PR {_r(PR_IAVB, 1000)} ms"),
    ClassDefinition(LPR, "LPR", "prolonged PR interval", "long PR (with IAVB: 225-280 ms)",
                    f"PR {_r(PR_LPR, 1000)} ms"),
    ClassDefinition(CRBBB, "CRBBB", "complete right bundle branch block", _RBBB_TEXT,
                    f"QRS {_r(QRS_RBBB, 1000)} ms"),
    ClassDefinition(RBBB, "RBBB", "right bundle branch block", "as 713427006 (same class)",
                    f"QRS {_r(QRS_RBBB, 1000)} ms"),
    ClassDefinition(IRBBB, "IRBBB", "incomplete right bundle branch block",
                    "smaller, shorter terminal right-ventricular force: rsr' in V1",
                    f"QRS {_r(QRS_IRBBB, 1000)} ms (116-119 with NSIVCB)"),
    ClassDefinition(LBBB, "LBBB", "left bundle branch block",
                    "no septal forces; two slow leftward-posterior forces: broad notched R in I, "
                    "aVL, V5, V6 without q, QS or rS in V1-V3; discordant ST-T",
                    f"QRS {_r(QRS_LBBB, 1000)} ms"),
    ClassDefinition(NSIVCB, "NSIVCB", "nonspecific intraventricular conduction disorder",
                    "the normal QRS slowed uniformly (septal q kept, no R')",
                    f"QRS {_r(QRS_NSIVCB, 1000)} ms"),
    ClassDefinition(LANFB, "LAnFB", "left anterior fascicular block",
                    "initial inferior-right force then left-superior main force: qR in I and aVL, "
                    "rS in II, III, aVF", f"axis {_r(AXIS_LANFB)} deg, QRS < 120 ms unless a BBB"),
    ClassDefinition(LAD, "LAD", "left axis deviation",
                    "frontal axis of the net QRS area (solved for exactly)",
                    f"axis {_r(AXIS_LAD)} deg (-80 to -60 with LQRSV)"),
    ClassDefinition(RAD, "RAD", "right axis deviation",
                    "frontal axis of the net QRS area; LAD/LAnFB win if also given",
                    f"axis {_r(AXIS_RAD)} deg (100-120 with LQRSV); otherwise normal axis "
                    f"{_r(AXIS_NORMAL)} deg, mostly near +45"),
    ClassDefinition(PAC, "PAC", "premature atrial contraction", _PAC_TEXT,
                    f"coupling {_r(COUPLING, 100)} % of RR (>= 0.36 s; its P after the previous "
                    f"ST-T), {_r(ECTOPY_PER_10S)} per 10 s, >= 1, at most 1 beat in 3"),
    ClassDefinition(SVPB, "SVPB", "supraventricular premature beats", "as 284470004 (same class)",
                    f"coupling {_r(COUPLING, 100)} % of RR, {_r(ECTOPY_PER_10S)} per 10 s, >= 1"),
    ClassDefinition(PVC, "PVC", "premature ventricular contractions", _PVC_TEXT,
                    f"QRS {_r(QRS_PVC, 1000)} ms (+15 with a block), 1.4-2.2 x the QRS voltage, "
                    f"coupling {_r(COUPLING, 100)} % (>= 0.4 s, before the sinus P), "
                    f"{_r(ECTOPY_PER_10S)} per 10 s, >= 1, at most 1 beat in 3"),
    ClassDefinition(VPB, "VPB", "ventricular premature beats", "as 427172004 (same class)",
                    f"QRS {_r(QRS_PVC, 1000)} ms, {_r(ECTOPY_PER_10S)} per 10 s, >= 1"),
    ClassDefinition(LQT, "LQT", "prolonged QT interval",
                    "every beat's QT = QTc x sqrt(mean RR) (tangent-method T end)",
                    f"QTc {_r(QTC_LQT, 1000)} ms (normal {_r(QTC_NORMAL, 1000)} ms; a wide QRS "
                    "adds half its extra width, the QTc kept under 425 ms)"),
    ClassDefinition(TAB, "TAb", "T wave abnormal",
                    "T flat (<= 0.07 mV and <= 7 % of R in I, II, V4-V6) or biphasic (+/- or -/+) "
                    "in every lead; replaces a bundle branch block's secondary T",
                    "biphasic lobes 0.06-0.3 mV in I, II, V4-V6"),
    ClassDefinition(TINV, "TInv", "T wave inversion",
                    "T vector turned: inferior (II, III, aVF), lateral (I, aVL, V5, V6), anterior "
                    "(V1-V4) or diffuse (I, II, aVF, V2-V6) inversion",
                    "0.15 mV or deeper in the pattern's two key leads, 0.5 mV at most"),
    ClassDefinition(QAB, "QAb", "Q wave abnormal",
                    "a 40+ ms initial force away from an infarct: superior (Q in II, III, aVF) or "
                    "posterior (QS in V1-V3, Q in V4)", f"QRS {_r(QRS_QAB, 1000)} ms"),
    ClassDefinition(LQRSV, "LQRSV", "low QRS voltages",
                    "QRS scaled down (P and T too); axis kept near lead II",
                    f"largest limb-lead QRS {_r(LQRSV_LIMB)} mV, largest chest-lead "
                    f"{_r(LQRSV_CHEST)} mV peak-to-peak"),
)


def definitions_markdown() -> str:
    """The class definitions as a Markdown table (| class | code | generator | ranges |)."""
    rows = ["| class | code | generator | ranges |", "| --- | --- | --- | --- |"]
    rows += [f"| {d.abbreviation} ({d.name}) | {d.code} | {d.generator} | {d.ranges} |"
             for d in CLASS_DEFINITIONS]
    return "\n".join(rows) + "\n"
