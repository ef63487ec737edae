"""QRS morphology: the frontal axis, the activation forces of each conduction class, voltage.

A QRS is a sequence of activation forces (septal, left-ventricular free wall, basal, and a
delayed right-ventricular force in RBBB), so its shape in each lead follows from the conduction
class: rS in V1 and qR in V6 for a normal heart, rsR' in V1 with a slurred S in I/V6 for RBBB,
a notched leftward-posterior R without septal q for LBBB, neither pattern for a bundle branch
block of unspecified side (BBB: LBBB's slow leftward forces without septal q, then a terminal
anterior-leftward force, an R' in V1 without RBBB's wide lateral S), an inferior-right initial
force followed by a left-superior one for LAnFB, a superior (inferior MI) or posterior (anterior
MI) initial force for pathological Q waves, small anterior forces for poor R-wave progression.
The frontal axis is the direction of the net QRS area and is solved for exactly. Paced beats and
PVCs are two broad forces spreading slowly through the myocardium.

Lead II stays readable for an R-peak detector in every class: its QRS is at least 0.45 mV
(0.2-0.4 with low voltage).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from ecgtricks.synth.ecg.constants import (
    AXIS_LAD,
    AXIS_LANFB,
    AXIS_NORMAL,
    AXIS_RAD,
    LQRSV_CHEST,
    LQRSV_LIMB,
    PRWP_R,
    QRS_BBB,
    QRS_IRBBB,
    QRS_LBBB,
    QRS_NORMAL,
    QRS_NSIVCB,
    QRS_PACED,
    QRS_PVC,
    QRS_QAB,
    QRS_RBBB,
)
from ecgtricks.synth.ecg.dipole import (
    SQ2PI,
    Shape,
    expand_leads,
    frontal,
    lead_matrix,
    make_shape,
    peak_lead_stats,
    unit,
)
from ecgtricks.synth.ecg.plan import Plan
from ecgtricks.synth.ecg.variability import Variability

Force = tuple[float, float, np.ndarray]  # centre (s), sigma (s), vector
MainForce = tuple[float, float, float, float]  # centre, sigma, weight, z per |f|


def solve_main(fixed_area_xy: np.ndarray, weight: float, target_deg: float) -> np.ndarray:
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


# --------------------------------------------------------------------------------------------
# Conducted beats


def intrinsic_qrs(rng: np.random.Generator, conduction: str, lanfb: bool, qab: str | None,
                  axis: float, nsivcb: bool, septal: tuple[float, float] | None = None,
                  loop: float = 0.0, normal_s: tuple[float, float] = QRS_NORMAL) -> Shape:
    """The QRS of conducted beats (unit main force), by conduction class. ``septal``: the
    (vertical component, size factor) of a normal septal force instead of the model's;
    ``loop``: how far the frontal loop opens (:func:`_loop_opening`); ``normal_s``: the
    duration range of a narrow QRS."""
    if conduction == "lbbb":
        d, r_off, fixed, main = _lbbb_forces(rng)
    elif conduction == "bbb":
        d, r_off, fixed, main = _bbb_forces(rng, nsivcb)
    else:
        d, r_off, fixed, main = _conducted_forces(rng, conduction, lanfb, qab, axis, nsivcb, septal,
                                                  normal_s)
    fixed_area = sum(v[:2] * s * SQ2PI for _, s, v in fixed) if fixed else np.zeros(2)
    weight = sum(w * s * SQ2PI for _, s, w, _ in main)
    f = solve_main(np.asarray(fixed_area), weight, axis)
    norm = float(np.hypot(*f))
    parts = fixed + [(c, s, np.array([w * f[0], w * f[1], w * z * norm])) for c, s, w, z in main]
    if loop and conduction not in ("lbbb", "bbb"):
        parts += _loop_opening(main[0], f, loop)
    return make_shape(parts, r_off, d)


def _loop_opening(main: MainForce, f: np.ndarray, loop: float) -> list[Force]:
    """A real frontal QRS loop is an ellipse, not a line along its axis: the main force turns
    as it goes. Two forces across the main one, before and after its centre and opposite in
    sign, open the loop by ``loop`` (their size against the main force's; the sign is the
    loop's sense) while their areas cancel, so the axis stays exactly where it was solved."""
    c, s, w, _ = main
    across = loop * w * np.array([-f[1], f[0], 0.0])
    return [(c - 0.8 * s, s, across), (c + 0.8 * s, s, -across)]


def _lbbb_forces(rng: np.random.Generator) -> tuple[float, float, list[Force], list[MainForce]]:
    """Duration, R fiducial, fixed and main forces of a left bundle branch block."""
    u = rng.uniform
    fixed: list[Force] = []
    d = u(*QRS_LBBB)
    # Septum activated from the left: no rightward initial force, so no q in I, aVL, V5, V6;
    # a tiny anterior force gives the r of rS in V1 in some records, QS in the others.
    if rng.random() < 0.5:
        fixed.append((0.12 * d, 0.06 * d, frontal(60, 3.0, u(0.03, 0.06))))
    z1, z2 = -u(1.0, 1.4), -u(0.6, 1.0)
    main = [(0.34 * d, 0.125 * d, 1.0, z1), (0.66 * d, 0.12 * d, u(0.8, 1.1), z2)]
    return d, 0.34 * d, fixed, main


def _bbb_forces(rng: np.random.Generator,
                nsivcb: bool) -> tuple[float, float, list[Force], list[MainForce]]:
    """Duration, R fiducial, fixed and main forces of a bundle branch block of unspecified side,
    drawn as neither typical pattern ("masquerading"): the septum activated from the left and
    the left ventricle slowly (no q and a broad R in I, aVL, V5, V6, as in LBBB), then a slow
    terminal force anterior, leftward and superior: an R' in V1 as in RBBB, but without RBBB's
    wide S in I, aVL, V5, V6 (the force is not rightward)."""
    u = rng.uniform
    d = u(*QRS_BBB)
    if nsivcb:
        d = max(d, u(*QRS_NSIVCB))
    lv = d * u(0.72, 0.78)  # the left ventricle done, the terminal force remains
    sig = (d - lv + 0.01) / 5.0
    late = unit([u(0.45, 0.6), -u(0.15, 0.4), 1.0]) * u(0.55, 0.75)
    # a tiny anterior initial force: the r of rSR' in V1 (not a QS, which reads as a Q wave)
    fixed: list[Force] = [(0.12 * lv, 0.06 * lv, frontal(60, 3.0, u(0.03, 0.06))),
                          (d - 2.5 * sig, sig, late)]
    main = [(0.36 * lv, 0.13 * lv, 1.0, -u(0.4, 0.8)), (0.7 * lv, 0.12 * lv, u(0.7, 1.0), -u(0.2, 0.5))]
    return d, 0.36 * lv, fixed, main


def _conducted_forces(rng: np.random.Generator, conduction: str, lanfb: bool, qab: str | None,
                      axis: float, nsivcb: bool, septal: tuple[float, float] | None = None,
                      normal_s: tuple[float, float] = QRS_NORMAL
                      ) -> tuple[float, float, list[Force], list[MainForce]]:
    """Duration, R fiducial, fixed and main forces of a QRS with septal activation."""
    u = rng.uniform
    d = _qrs_duration(rng, conduction, qab, nsivcb, normal_s)
    # The left-ventricular part keeps a normal duration in a right bundle branch block;
    # a non-specific delay (NSIVCB) slows all of it uniformly.
    lv = d if conduction == "normal" else min(d, u(0.082, 0.092))
    if conduction == "irbbb" and nsivcb:
        lv = d * u(0.8, 0.85)
    fixed = [_initial_force(rng, lv, qab, lanfb, axis, septal)]
    main_c = (0.56 if qab else 0.45) * lv
    main = [(main_c, 0.1 * lv, 1.0, -u(0.35, 0.8))]
    # basal forces: posterior, superior, slightly rightward (the s of V5/V6, S of V1-V3)
    fixed.append((0.8 * lv, 0.08 * lv,
                  u(0.15, 0.3) * unit([-u(0.1, 0.5), -u(0.3, 0.7), -u(0.5, 0.9)])))
    if conduction in ("rbbb", "irbbb"):
        fixed += _rv_delay_forces(rng, conduction, d, lv)
    return d, main_c, fixed, main


def _qrs_duration(rng: np.random.Generator, conduction: str, qab: str | None,
                  nsivcb: bool, normal_s: tuple[float, float] = QRS_NORMAL) -> float:
    u = rng.uniform
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
        d = u(*normal_s)
    return d


def _initial_force(rng: np.random.Generator, lv: float, qab: str | None, lanfb: bool,
                   axis: float, septal: tuple[float, float] | None = None) -> Force:
    """The first force of the QRS: septal, or away from an infarct, or LAnFB's."""
    u = rng.uniform
    if qab == "inferior":  # initial forces away from the inferior wall: Q in II, III, aVF
        return (0.25 * lv, 0.1 * lv, u(0.45, 0.7) * unit([u(0.0, 0.3), -1.0, u(-0.1, 0.3)]))
    if qab == "anterior":  # initial forces posterior: QS in V1-V3, Q in V4
        return (0.25 * lv, 0.1 * lv, u(0.5, 0.75) * unit([u(0.1, 0.4), u(0.0, 0.2), -1.0]))
    if lanfb:  # initial forces inferior-right: q in I and aVL, r in II, III, aVF
        return (0.17 * lv, 0.068 * lv, frontal(u(110, 135), u(0.2, 0.5), u(0.15, 0.22)))
    if axis < -30:  # a superior axis keeps an initial r in II, III, aVF (rS, not QS)
        return (0.16 * lv, 0.064 * lv,
                u(0.18, 0.26) * unit([-u(0.3, 0.6), u(0.7, 1.0), u(0.5, 0.8)]))
    # septal forces anterior and rightward: r in V1-V3, small q in I, aVL, V5, V6 (and, when
    # the force points a little upward, in II, III, aVF: a normal variant)
    size, x, y, z = u(0.12, 0.22), -u(0.3, 0.55), u(0.2, 0.6), u(0.75, 1.0)
    if septal is not None:
        y, size = septal[0], size * septal[1]
    return (0.16 * lv, 0.064 * lv, size * unit([x, y, z]))


def _rv_delay_forces(rng: np.random.Generator, conduction: str, d: float,
                     lv: float) -> list[Force]:
    """Delayed right-ventricular activation: a slow terminal rightward-anterior force,
    the R' of V1/V2 and the wide slurred S of I, aVL, V5, V6.

    The loop turns as it goes (anterior first, then rightward-superior), so the two halves are
    separate forces rather than one fixed direction.
    """
    u = rng.uniform
    sig = (d - lv + 0.02) / 5.0
    amp = u(0.35, 0.5) if conduction == "rbbb" else u(0.25, 0.4)
    late = d - 2.1 * sig  # where its slope fades into the noise
    first = unit([-u(0.3, 0.6), u(-0.1, 0.3), u(0.8, 1.0)])
    last = unit([-u(0.6, 0.9), -u(0.1, 0.4), u(0.3, 0.6)]) * u(0.7, 1.0)
    return [(late - (1.0 - w) * 1.6 * sig, sig,
             amp * (0.75 if k != 1 else 1.0) * ((1 - w) * first + w * last))
            for k, w in enumerate((0.0, 0.5, 1.0))]


def broad_qrs(rng: np.random.Generator, d: float, latency: float, axis: float,
              z: float, turn: float) -> Shape:
    """A wide QRS spreading slowly through the myocardium (PVC, paced): two broad forces."""
    c1, c2 = latency + 0.3 * d, latency + 0.64 * d
    s1, s2 = 0.13 * d, 0.12 * d
    w2 = rng.uniform(0.6, 0.9)
    v2 = frontal(axis + turn, 0.0, 1.0)
    fixed_area = w2 * s2 * SQ2PI * v2[:2]
    f = solve_main(fixed_area, s1 * SQ2PI, axis)
    norm = float(np.hypot(*f))
    v1 = np.array([f[0], f[1], z * norm])
    v2[2] = z * w2 * 1.2
    shape = make_shape([(c1, s1, v1), (c2, s2, w2 * v2)], c1, latency + d)
    # its R fiducial: where the QRS vector is largest
    t = np.arange(0.0, latency + d, 5e-4)
    shape.r_offset = float(t[int(np.argmax(np.linalg.norm(shape.sample(t), axis=0)))])
    return shape


# --------------------------------------------------------------------------------------------
# Axis and voltage


def draw_axis(rng: np.random.Generator, p: Plan, normal_sd: float | None = None) -> float:
    """Frontal QRS axis. With low voltage it stays within 40-60 degrees of lead II (or of its
    opposite), or lead II's QRS would shrink to the size of its P and T waves. A normal axis
    is normal(45, 22) clipped to its range, or with ``normal_sd`` a normal(45, normal_sd)
    truncated to it (no pile-up at the bounds; the same draw from ``rng``)."""
    if p.lanfb:
        lo, hi = AXIS_LANFB
    elif p.axis_class == "lad":
        lo, hi = AXIS_LAD
    elif p.axis_class == "rad":
        lo, hi = AXIS_RAD
    else:
        lo, hi = AXIS_NORMAL
        if p.conduction in ("lbbb", "bbb"):  # a left bundle branch block's axis: normal to leftward
            hi = 60.0
    if p.lqrsv:
        lo, hi = (max(lo, 20.0), hi) if p.axis_class == "normal" else (
            (lo, min(hi, -60.0)) if p.axis_class == "lad" else (lo, min(hi, 120.0)))
    if p.axis_class != "normal" or p.lanfb:
        return float(rng.uniform(lo, hi))
    # Normal adults cluster around +45 degrees; the tails of the normal range are rarer.
    if normal_sd is None:
        return float(np.clip(rng.normal(45.0, 22.0), lo, hi))
    a, b = special.ndtr((lo - 45.0) / normal_sd), special.ndtr((hi - 45.0) / normal_sd)
    return float(45.0 + normal_sd * special.ndtri(a + (b - a) * special.ndtr(rng.standard_normal())))


def voltage_scale(rng: np.random.Generator, shape: Shape, lead12: np.ndarray, p: Plan,
                  normal_axis: bool) -> float:
    """Factor that brings a unit complex to adult limb-lead voltages (or low voltage)."""
    r12, p2p12 = peak_lead_stats(shape, lead12)
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


# --------------------------------------------------------------------------------------------
# The record's QRS complexes and chest


@dataclass
class QRSDesign:
    """The QRS complexes of one record and the chest they are seen through."""

    rotation: float  # precordial rotation about the vertical axis (transition zone), degrees
    chest_gain: float
    lead8: np.ndarray  # (8, 3) projection onto I, II, V1..V6
    lead12: np.ndarray  # (12, 3)
    axis: float  # frontal axis of the conducted QRS, degrees
    paced_axis: float | None
    qab_territory: str | None  # inferior | anterior
    intrinsic: Shape  # conducted beats (N, A)
    paced: Shape | None
    r_dom: np.ndarray  # per-lead R of the dominant complex (mV, before `amplitude`)
    p2p_dom: np.ndarray  # per-lead peak-to-peak of the dominant complex

    @property
    def dominant(self) -> Shape:
        """The complex of most beats: paced in a paced rhythm, else the conducted one."""
        return self.paced if self.paced is not None else self.intrinsic


def design_qrs(rng: np.random.Generator, p: Plan, var: Variability | None = None) -> QRSDesign:
    """The chest geometry, the conducted (and paced) QRS and their voltages; ``var``: the
    record's septal force, loop, axis spread and narrow QRS duration (the model's without)."""
    u = rng.uniform
    var = var or Variability()
    # Geometry of this chest: transition zone rotation and chest-lead gain.
    rotation = u(-12.0, 12.0)
    lead12_unit = expand_leads(lead_matrix(rotation, 1.0))
    axis = draw_axis(rng, p, var.axis_sd)
    qab_territory = str(rng.choice(["inferior", "anterior"])) if p.qab else None
    intrinsic = intrinsic_qrs(rng, p.conduction, p.lanfb, qab_territory, axis, p.nsivcb, var.septal,
                              var.qrs_loop, var.qrs_normal_s or QRS_NORMAL)
    paced_axis = None
    paced = None
    if p.rhythm == "paced":
        # RV apical pacing: left-superior axis, posterior (LBBB-like) forces; RAD: LV pacing.
        if p.axis_class == "rad":
            paced_axis, z = u(100, 135), u(-0.2, 0.3)
        else:
            paced_axis, z = u(-85, -50), -u(0.6, 1.0)
        paced = broad_qrs(rng, u(*QRS_PACED), u(0.015, 0.025), paced_axis, z, u(-30, 30))
    if qab_territory != "anterior" and p.conduction in ("normal", "irbbb"):
        intrinsic = _r_wave_progression(intrinsic, lead12_unit)
    if qab_territory is None and p.conduction not in ("lbbb", "bbb") and not p.lanfb and axis >= -30:
        intrinsic = _septal_r(rng, intrinsic, lead12_unit, axis)
    # Voltage: scale each complex to lead II / limb targets, then pick the chest gain from the
    # dominant one (the same chest for every beat kind).
    scale_int = voltage_scale(rng, intrinsic, lead12_unit, p, normal_axis=p.axis_class == "normal")
    intrinsic = intrinsic.scaled(scale_int)
    if paced is not None:
        paced = paced.scaled(voltage_scale(rng, paced, lead12_unit, p, normal_axis=False))
    dominant = paced if paced is not None else intrinsic
    chest_p2p = float(peak_lead_stats(dominant, lead12_unit)[1][6:].max())
    chest_target = u(*LQRSV_CHEST) if p.lqrsv else u(1.3, 3.0)
    chest_gain = float(np.clip(chest_target / chest_p2p, 0.25 if p.lqrsv else 0.6, 1.6))
    if p.prwp:
        intrinsic, chest_gain = _poor_r_progression(rng, intrinsic, rotation, chest_gain,
                                                    max(3.0, chest_target))
        dominant = paced if paced is not None else intrinsic
    lead8 = lead_matrix(rotation, chest_gain)
    lead12 = expand_leads(lead8)
    r_dom, p2p_dom = peak_lead_stats(dominant, lead12)
    return QRSDesign(rotation, chest_gain, lead8, lead12, axis, paced_axis, qab_territory,
                     intrinsic, paced, r_dom, p2p_dom)


def _r_wave_progression(intrinsic: Shape, lead12: np.ndarray) -> Shape:
    """Normal R-wave progression: R taller than S by V5 (the main force less posterior)."""
    main = int(np.argmax(np.linalg.norm(intrinsic.vecs, axis=1)))
    vecs = intrinsic.vecs.copy()
    for factor in (1.0, 0.75, 0.5, 0.25, 0.0, -0.25):
        trial = Shape(intrinsic.centers, intrinsic.sigmas, vecs * np.where(
            np.arange(len(vecs))[:, None] == main, [1.0, 1.0, factor], 1.0),
            intrinsic.r_offset, intrinsic.duration)
        r_v, p2p_v = peak_lead_stats(trial, lead12)
        if r_v[10] > 1.2 * (p2p_v[10] - r_v[10]) and r_v[11] > 1.2 * (p2p_v[11] - r_v[11]):
            break
    return trial


def _poor_r_progression(rng: np.random.Generator, intrinsic: Shape, rotation: float,
                        chest_gain: float, chest_cap: float) -> tuple[Shape, float]:
    """Poor R-wave progression: the tallest R of V1-V4 no more than a drawn 0.08-0.2 mV, an r
    still there (0.05 mV and 4 % of the lead's QRS or more: rS, not QS) wherever the QRS had
    one, so the transition moves to V5/V6.

    Only the anterior-posterior (z) parts of the forces change, so the limb leads and the
    frontal axis stay exactly as drawn: the forces before the main one (the septal r) shrink
    and the main force (with LBBB's second one) turns posterior, the smallest change that meets
    the target first. The chest gain comes down if the S waves this deepens would pass
    ``chest_cap`` mV. Returns the QRS and the chest gain."""
    target = float(rng.uniform(*PRWP_R))
    unit_gain = lead_matrix(rotation, 1.0)[2:]  # V1-V6 at unit gain
    vecs0 = intrinsic.vecs
    norms = np.linalg.norm(vecs0, axis=1)
    main = int(np.argmax(norms))
    early = intrinsic.centers < intrinsic.centers[main]
    big = ~early & (norms >= 0.6 * norms[main])  # a right bundle branch block's R' is not
    xy = np.hypot(vecs0[big, 0], vecs0[big, 1])
    t = np.arange(-0.02, intrinsic.duration + 0.03, 5e-4)
    had_r = (chest_gain * (unit_gain[:4] @ intrinsic.sample(t))).max(axis=1) >= 0.05
    best: tuple[float, Shape, float] | None = None
    for shift in np.arange(0.0, 3.01, 0.1):
        for factor in (1.0, 0.8, 0.6, 0.45, 0.3, 0.2):
            vecs = vecs0.copy()
            vecs[early, 2] *= factor
            vecs[big, 2] -= shift * xy
            trial = Shape(intrinsic.centers, intrinsic.sigmas, vecs, intrinsic.r_offset,
                          intrinsic.duration)
            waves = unit_gain @ trial.sample(t)
            gain = min(chest_gain, chest_cap / max(float(np.ptp(waves, axis=1).max()), 1e-9))
            leads = gain * waves[:4]
            r = leads.max(axis=1)
            ok_r = (r >= np.maximum(0.05, 0.04 * np.ptp(leads, axis=1)))[had_r].all()
            miss = max(float(r.max()) - target, 0.0) + 10 * float(not ok_r)
            if best is None or miss < best[0]:
                best = (miss, trial, gain)
            if miss == 0.0:
                return trial, gain
    assert best is not None
    return best[1], best[2]


def _septal_r(rng: np.random.Generator, intrinsic: Shape, lead12: np.ndarray,
              axis: float) -> Shape:
    """The septal r of V1-V3 must show (7 % of the largest chest deflection or more), or
    they read as QS (a Q wave)."""
    early = np.arange(0.0, 0.45 * intrinsic.duration, 5e-4)
    r_v13 = float((lead12[[6, 7, 8]] @ intrinsic.sample(early)).max(axis=1).min())
    want = 0.07 * float(peak_lead_stats(intrinsic, lead12)[1][6:].max())
    if r_v13 >= want:
        return intrinsic
    vecs = intrinsic.vecs.copy()
    vecs[0] *= min(3.0, want * rng.uniform(1.0, 1.5) / max(r_v13, 0.01 * want))
    # and the main force turns a little so that the net QRS keeps its axis
    main = int(np.argmax(np.linalg.norm(vecs, axis=1)))
    others = np.delete(np.arange(len(vecs)), main)
    fixed_area = (vecs[others, :2] * intrinsic.sigmas[others, None]).sum(axis=0)
    f = solve_main(fixed_area * SQ2PI, intrinsic.sigmas[main] * SQ2PI, axis)
    z_per = vecs[main, 2] / max(float(np.hypot(*vecs[main, :2])), 1e-9)
    vecs[main] = [f[0], f[1], z_per * float(np.hypot(*f))]
    return Shape(intrinsic.centers, intrinsic.sigmas, vecs, intrinsic.r_offset,
                 intrinsic.duration)


def design_pvc(rng: np.random.Generator, p: Plan, q: QRSDesign) -> Shape:
    """A unifocal PVC whose axis differs from the dominant one by more than 60 degrees, as
    large as the dominant QRS in lead II at least (not one that is isoelectric in II)."""
    u = rng.uniform
    foci = {"RVOT": (u(70, 100), -u(0.6, 1.0)), "LV": (u(-170, -110), u(0.4, 0.8)),
            "RV apex": (u(-90, -50), -u(0.5, 0.9)), "LV septal": (u(150, 190), u(0.3, 0.7))}
    dom_axis = q.paced_axis if q.paced_axis is not None else q.axis
    width = min(u(*QRS_PVC) + (0.015 if p.conduction != "normal" or p.nsivcb else 0.0), 0.2)
    dom_p2p = q.p2p_dom
    grow = u(1.4, 2.2)
    cap = np.inf if p.lqrsv else u(2.5, 4.0)  # 1.4-2.2 x the largest lead, within 2.5-4 mV
    candidates = []
    for name in rng.permutation(list(foci)):
        focus_axis, z = foci[str(name)]
        if abs((focus_axis - dom_axis + 180) % 360 - 180) <= 60:
            continue
        shape = broad_qrs(rng, width, 0.0, focus_axis, z, u(-50, 50))
        pvc_p2p = peak_lead_stats(shape, q.lead12)[1]
        shape = shape.scaled(min(float(dom_p2p.max()) * grow, cap) / float(pvc_p2p.max()))
        ii = float(peak_lead_stats(shape, q.lead12)[1][1])
        candidates.append((ii >= float(dom_p2p[1]), ii, shape))
    return max(candidates, key=lambda c: (c[0], c[1] if not c[0] else 0.0))[2]
