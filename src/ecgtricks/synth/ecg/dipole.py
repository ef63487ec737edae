"""The cardiac dipole: lead geometry, wave shapes as 3-D Gaussian forces, and rendering.

Coordinates are x to the patient's left, y inferior, z anterior. The limb leads are the ideal
Einthoven projections (I = x, II = x/2 + y*sqrt(3)/2; III, aVR, aVL, aVF derived from I and II,
so Einthoven and Goldberger hold exactly, noise included), and V1..V6 are the Dower (1980)
precordial rows (Frank X, Y, -Z), rescaled to lead I, rotated per record about the vertical
axis (transition zone) and given a per-record chest gain.

A wave (P, the parts of the QRS, T) is a sum of 3-D vectors times Gaussian time courses
(:class:`Shape`). All beats and leads are rendered at once (no Python loop over beats or
samples): beat windows are evaluated with broadcasting and summed with ``np.bincount``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

_SQ3 = np.sqrt(3.0) / 2.0
SQ2PI = np.sqrt(2.0 * np.pi)  # area of a unit-peak Gaussian per unit sigma

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


# --------------------------------------------------------------------------------------------
# Geometry


def lead_matrix(rotation_deg: float, chest_gain: float) -> np.ndarray:
    """8 x 3 projection onto I, II, V1..V6 (the independent leads)."""
    a = np.deg2rad(rotation_deg)
    rot = np.array([[np.cos(a), 0.0, -np.sin(a)], [0.0, 1.0, 0.0], [np.sin(a), 0.0, np.cos(a)]])
    chest = chest_gain * _DOWER_CHEST @ rot
    return np.vstack([[1.0, 0.0, 0.0], [0.5, _SQ3, 0.0], chest])


def expand_leads(eight: np.ndarray) -> np.ndarray:
    """(8, ...) independent leads -> (12, ...) with III, aVR, aVL, aVF derived from I and II."""
    i, ii = eight[0], eight[1]
    return np.stack([i, ii, ii - i, -(i + ii) / 2, i - ii / 2, ii - i / 2, *eight[2:]])


def unit(v: Iterable[float]) -> np.ndarray:
    """``v`` scaled to length 1."""
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


def frontal(deg: float, z: float = 0.0, mag: float = 1.0) -> np.ndarray:
    """A vector at ``deg`` degrees in the frontal plane (0 = lead I, 90 = aVF), ``z`` forward."""
    a = np.deg2rad(deg)
    return mag * np.array([np.cos(a), np.sin(a), z])


# --------------------------------------------------------------------------------------------
# Wave shapes


@dataclass
class Shape:
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
        return (self.vecs * (self.sigmas * SQ2PI)[:, None]).sum(axis=0)

    def scaled(self, k: float) -> Shape:
        return Shape(self.centers, self.sigmas, self.vecs * k, self.r_offset, self.duration)


def make_shape(parts: list[tuple[float, float, np.ndarray]], r_offset: float,
               duration: float) -> Shape:
    """A :class:`Shape` from (centre, sigma, vector) components."""
    c, s, v = zip(*parts, strict=True)
    return Shape(np.array(c), np.array(s), np.array(v, dtype=float), r_offset, duration)


def peak_lead_stats(shape: Shape, lead12: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead R (max positive) and peak-to-peak of a complex, at 0.5 ms resolution."""
    t = np.arange(-0.02, shape.duration + 0.03, 5e-4)
    leads = lead12 @ shape.sample(t)
    return leads.max(axis=1).clip(0.0), np.ptp(leads, axis=1)


# --------------------------------------------------------------------------------------------
# Rendering


def pulse_train(n: int, fs: float, centers: np.ndarray, sigma: float | np.ndarray,
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


def render(vcg: np.ndarray, fs: float, onsets: np.ndarray, amps: np.ndarray,
           shape: Shape) -> None:
    """Add one complex at every onset (vectorised over beats; a loop over the few components)."""
    if onsets.size == 0:
        return
    for c, s, v in zip(shape.centers, shape.sigmas, shape.vecs, strict=True):
        vcg += v[:, None] * pulse_train(vcg.shape[1], fs, onsets + c, s, amps)[None, :]
