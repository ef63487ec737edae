"""Repolarization: the QT interval, the T vector of each class, and the T waves' rendering.

T is a single asymmetric wave (or two opposite lobes) whose tangent-method end is placed at QRS
onset + QT, QT = QTc * sqrt(mean RR) (Bazett); its direction and size are chosen among random
candidates to meet the class's per-lead rules (see :func:`design_t`). Wide beats (PVC, paced)
get a large secondary T opposite to their QRS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgtricks.synth.ecg.constants import QTC_LQT, QTC_NORMAL
from ecgtricks.synth.ecg.dipole import Shape, peak_lead_stats, pulse_train, unit
from ecgtricks.synth.ecg.plan import Plan
from ecgtricks.synth.ecg.rhythm import Beats

_K = 64  # random T candidates per record
_TINV_LEADS = {"inferior": (1, 5), "lateral": (0, 11), "anterior": (8, 9),
               "diffuse": (1, 5, 9, 10, 11)}  # where each T inversion pattern must show


@dataclass
class TWave:
    """The T wave of conducted beats."""

    vec: np.ndarray  # T vector at its peak (mV)
    tinv_pattern: str | None
    tab_kind: str | None  # low | flat | biphasic
    qtc: float  # drawn QTc (s), before it gives way to a wide QRS (see qt_interval)
    k_down: float  # falling sigma per QT
    k_up: float  # rising sigma per QT
    lateral_scale: float = 1.0  # TAb's low T: its size in I, II, V4-V6 against a normal T's


def draw_t_wave(rng: np.random.Generator, p: Plan, axis: float, intrinsic: Shape,
                lead12: np.ndarray, tab_kinds: tuple[float, float, float] | None = None) -> TWave:
    """QTc, T abnormality kind, the T vector and the T wave's asymmetry. ``tab_kinds``: the
    shares of TAb's low, flat and biphasic T (None: flat or biphasic, evenly)."""
    u = rng.uniform
    qtc = u(*QTC_LQT) if p.lqt else u(*QTC_NORMAL)
    tab_kind = None
    if p.tab and not p.tinv:
        tab_kind = str(rng.choice(["flat", "biphasic"]) if tab_kinds is None
                       else rng.choice(["low", "flat", "biphasic"], p=tab_kinds))
    t_vec, tinv_pattern = design_t(rng, p, axis, intrinsic, lead12, tab_kind)
    k_down = u(0.085, 0.1)
    k_up = k_down * u(1.3, 1.6)
    lateral = u(*TAB_LOW_SCALE) if tab_kind == "low" else 1.0
    return TWave(t_vec, tinv_pattern, tab_kind, qtc, k_down, k_up, lateral)


# TAb's low T as labelled: real TAb records' median T over that of sinus-only records is 0.30
# in I, 0.37 in II, 0.38 in V4, 0.43 in V6 and 1.0 in V2 (docs/twin-calibration.md).
TAB_LOW_SCALE = (0.15, 0.45)


def t_lead_gains(tw: TWave, gains: tuple[float, ...] | None) -> tuple[float, ...] | None:
    """The T's own gains per lead of I, II, V1..V6: a normal T's (``gains``) and, for TAb's low
    T, those times its lateral scale in I, II, V4-V6 (V1, V2 kept, V3 halfway); None: the T
    goes with the QRS."""
    if tw.tab_kind != "low":
        return gains
    s = tw.lateral_scale
    profile = np.array([s, s, 1.0, 1.0, 0.5 * (1.0 + s), s, s, s])
    return tuple(float(g) for g in profile * (1.0 if gains is None else np.asarray(gains)))


def qt_interval(p: Plan, qtc: float, mean_rr: float,
                qrs_duration: float) -> tuple[float, float, float]:
    """(QTc, sqrt(RR), QT) of every conducted beat.

    QT follows the heart rate (Bazett at the mean RR). Its beat-to-beat restitution is left
    out: every normal beat has the same T, which premature-beat analysis relies on. A wide
    QRS lengthens the QT by half its extra width (the JT stays about normal), and the drawn
    QTc gives way so that a record without LQT still measures 425 ms or less.
    """
    root = float(np.sqrt(np.clip(mean_rr, 0.25, 2.0)))
    widening = 0.5 * max(qrs_duration - 0.1, 0.0)
    if not p.lqt:
        qtc = max(min(qtc, 0.425 - widening / root), QTC_NORMAL[0] - 0.02)
    return qtc, root, qtc * root + widening


# --------------------------------------------------------------------------------------------
# Design


@dataclass
class _Candidates:
    """Random T candidates of one record, sized against per-lead bounds."""

    lead12: np.ndarray
    upper: np.ndarray  # |T| bound per lead
    size: np.ndarray  # (K,) drawn sizes, moved into the allowed range by `best`

    def best(self, dirs: np.ndarray, lower: np.ndarray,
             upper_signed: np.ndarray) -> tuple[int, float]:
        """The first candidate direction with a size that meets lower <= T <= upper_signed and
        |T| <= upper in every lead (the drawn size moved into the allowed range); else the
        least bad. Sizes are written back into `size`."""
        upper, size = self.upper, self.size
        proj = dirs / np.linalg.norm(dirs, axis=1, keepdims=True) @ self.lead12.T
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

    def vector(self, dirs: np.ndarray, i: int) -> np.ndarray:
        return self.size[i] * unit(dirs[i])


_NO_LOW, _NO_HIGH = np.full(12, -np.inf), np.full(12, np.inf)  # no bound (copied before use)
_NO_LOW.flags.writeable = _NO_HIGH.flags.writeable = False


def design_t(rng: np.random.Generator, p: Plan, axis: float, shape: Shape,
             lead12: np.ndarray, tab_kind: str | None) -> tuple[np.ndarray, str | None]:
    """The T vector (its peak, mV) and the T-inversion pattern, if any.

    64 random candidates (direction and size) are scored against the per-lead rules of the
    record's class and the first one that breaks none is kept (else the least bad): normal T
    upright in I, II, aVF, V3-V6 where the QRS is R-dominant, at most 0.45 x R where R dominates
    and 0.45 x the QRS height in II (a detector must not take T for R), secondary T inversion
    in V1-V3 for RBBB and BBB, discordant ST-T for LBBB, primary inversion in two contiguous
    leads for TInv, a low, flat or biphasic T in I, II, V4-V6 for TAb.
    """
    r, p2p = peak_lead_stats(shape, lead12)
    s, net = p2p - r, lead12 @ shape.area()
    upper = _t_upper(p, r, s, p2p)
    normal, size = _normal_candidates(rng, p, axis)
    cands = _Candidates(lead12, upper, size)
    upright = np.zeros(12, dtype=bool)
    upright[[0, 1, 5, 8, 9, 10, 11]] = True
    upright &= r > s
    if axis >= -15.0 and axis <= 85.0 and p.conduction in ("normal", "irbbb"):
        upright[8] = True  # V3 in a normal heart
    lower = np.where(upright, np.minimum(0.12, 0.5 * upper), _NO_LOW)
    if p.tinv:
        return _inverted_t(rng, cands, normal)
    if tab_kind == "flat":
        return _flat_t(normal, lead12, r), None
    if tab_kind == "low":  # the normal T, flattened where it is rendered (TWave.lateral_scale)
        i, _ = cands.best(normal, lower, _NO_HIGH)
        return cands.vector(normal, i), None
    if tab_kind == "biphasic":  # two opposite lobes, each 0.06 mV or more in I, II, V4-V6
        low = _NO_LOW.copy()
        low[[0, 1, 9, 10, 11]] = 0.06
        i, _ = cands.best(normal, low, np.minimum(_NO_HIGH, 0.3))
        return cands.vector(normal, i), None
    if p.conduction == "lbbb":  # discordant ST-T, a third of the QRS or less
        upper[:] = np.minimum(upper, 0.35 * p2p)
        dirs = -unit(shape.area())[None, :] + 0.3 * rng.standard_normal((_K, 3))
        low, high = _NO_LOW.copy(), _NO_HIGH.copy()
        lateral = [j for j in (0, 4, 10, 11) if net[j] > 0]
        high[lateral] = -0.1
        low[[j for j in (6, 7) if net[j] < 0]] = 0.1
        i, _ = cands.best(dirs, low, high)
        return cands.vector(dirs, i), None
    if p.conduction in ("rbbb", "bbb"):
        # Secondary inversion in V1-V3: T turned away from the late anterior (RV) forces.
        dirs = normal.copy()
        dirs[:, 2] = -rng.uniform(0.3, 1.4, _K)
        high = _NO_HIGH.copy()
        high[[6, 7, 8]] = -0.05
        low = np.where(upright & (np.arange(12) != 8), np.minimum(0.08, 0.8 * upper), _NO_LOW)
        i, _ = cands.best(dirs, low, high)
        return cands.vector(dirs, i), None
    i, _ = cands.best(normal, lower, _NO_HIGH)
    return cands.vector(normal, i), None


def _t_upper(p: Plan, r: np.ndarray, s: np.ndarray, p2p: np.ndarray) -> np.ndarray:
    """Largest |T| per lead: under R where R dominates, under II's QRS height, low voltage."""
    dominant = (r > s) & (r >= 0.5)
    dominant[6:9] = False
    upper = np.r_[np.full(6, 0.6), np.full(6, 1.0)]
    upper = np.where(dominant, np.minimum(upper, 0.45 * r), upper)
    upper[1] = min(upper[1], 0.45 * p2p[1])
    if p.lqrsv:  # low voltage lowers T too
        upper[:6] = np.minimum(upper[:6], 0.3 * p2p[:6].max())
        upper[6:] = np.minimum(upper[6:], 0.3 * p2p[6:].max())
    return upper


def _normal_candidates(rng: np.random.Generator, p: Plan,
                       axis: float) -> tuple[np.ndarray, np.ndarray]:
    """Directions and sizes of normal T vectors around the QRS axis."""
    u, k = rng.uniform, _K
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
    return normal, size


def _inverted_t(rng: np.random.Generator, cands: _Candidates,
                normal: np.ndarray) -> tuple[np.ndarray, str]:
    """Primary T inversion in the leads of one pattern (tried in random order)."""
    u, k = rng.uniform, _K
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
        high = _NO_HIGH.copy()
        high[list(_TINV_LEADS[pattern])] = -0.15
        low = np.full(12, -0.5)  # the deepest inversion 0.5 mV
        i, bad = cands.best(dirs, low, high)
        options.append((bad, str(pattern), cands.vector(dirs, i)))
        if bad == 0.0:
            break
    bad, pattern, vec = min(options, key=lambda o: o[0])
    return vec, pattern


def cap_t_gains(gains: tuple[float, ...], t_vec: np.ndarray, lead8: np.ndarray,
                qrs_p2p8: np.ndarray, cap: float, t_size: float = 1.0) -> tuple[float, ...]:
    """A T's own lead gains (I, II, V1..V6), each lowered where it would make the T taller than
    ``cap`` times its lead's QRS (peak-to-peak), never raised: ``t_size`` is the T's overall gain."""
    t_peak = np.abs(lead8 @ t_vec) * t_size
    with np.errstate(divide="ignore"):
        limit = cap * qrs_p2p8 / t_peak
    return tuple(float(g) for g in np.minimum(np.asarray(gains), limit))


def _flat_t(normal: np.ndarray, lead12: np.ndarray, r: np.ndarray) -> np.ndarray:
    """T under 0.07 mV and 7 % of R in I, II, V4-V6 (and small elsewhere)."""
    d = unit(normal[0])
    proj = np.abs(lead12 @ d)
    key = [0, 1, 9, 10, 11]
    limit = np.minimum(0.07, 0.07 * np.maximum(r[key], 0.3))
    return d * min(float((limit / np.maximum(proj[key], 1e-9)).min()),
                   0.09 / float(proj.max()))


# --------------------------------------------------------------------------------------------
# Rendering


def add_conducted_t(rng: np.random.Generator, vcg: np.ndarray, fs: float, beats: Beats,
                    t_amps: np.ndarray, tw: TWave, qt_beat: float,
                    qrs_duration: float) -> None:
    """T waves of the conducted beats (N, A): tangent-method end at onset + QT (peak two
    falling sigmas before it). Added to the vector loop in place."""
    n = vcg.shape[1]
    on, kinds = beats.onsets, beats.kinds
    qt = np.full(on.size, qt_beat)
    conducted = (kinds == "N") | (kinds == "A")
    # The T wave fills the JT interval: a wide QRS (same QT) leaves it less room, not no ST.
    jt_room = np.clip((qt[conducted] - qrs_duration) / (qt[conducted] - 0.09), 0.65, 1.05)
    sd = tw.k_down * qt[conducted] * jt_room
    t_end = on[conducted] + qt[conducted]
    if tw.tab_kind == "biphasic":
        s_lobe = 0.9 * sd
        sign = 1.0 if rng.random() < 0.5 else -1.0
        lobe2 = t_end - 2 * s_lobe
        for centre, sgn in ((lobe2 - 2.6 * s_lobe, sign), (lobe2, -sign)):
            lobe = pulse_train(n, fs, centre, s_lobe, t_amps[conducted])
            vcg += sgn * tw.vec[:, None] * lobe[None, :]
    else:
        vcg += tw.vec[:, None] * pulse_train(n, fs, t_end - 2 * sd, tw.k_up / tw.k_down * sd,
                                             t_amps[conducted], sd)[None, :]


def add_secondary_t(rng: np.random.Generator, vcg: np.ndarray, fs: float, beats: Beats,
                    t_amps: np.ndarray, wide: tuple[tuple[str, Shape | None], ...], qtc: float,
                    lead12: np.ndarray) -> None:
    """T waves of the wide beats (PVC 'V', paced 'P'), added to the vector loop in place."""
    n = vcg.shape[1]
    on, kinds = beats.onsets, beats.kinds
    for kind, shape in wide:
        sel = kinds == kind
        if shape is None or not sel.any():
            continue
        # Secondary (discordant) T of a wide beat: opposite to the net QRS, large, filling the
        # JT interval from a short ST segment on; the QT is longer by half the extra QRS width.
        tv = -unit(shape.area()) * 0.3 * float(np.abs(shape.vecs).max()) * rng.uniform(0.8, 1.2)
        # in lead II under 0.3 x the complex's height there (II is read for its QRS)
        _, wide_p2p = peak_lead_stats(shape, lead12)
        tv *= min(1.0, 0.3 * float(wide_p2p[1]) / max(abs(float(lead12[1] @ tv)), 1e-9))
        qt_w = (qtc * np.sqrt(beats.mean_rr) + 0.5 * (shape.duration - 0.09)
                + rng.uniform(0.0, 0.03))
        sdw = (qt_w - shape.duration - 0.03) / 5.75  # start = end - 2 sd - 2.5 * 1.5 sd
        ends = on[sel] + qt_w
        vcg += tv[:, None] * pulse_train(n, fs, ends - 2 * sdw, 1.5 * sdw, t_amps[sel],
                                         sdw)[None, :]
