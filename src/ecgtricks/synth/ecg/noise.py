"""Recording noise: white sensor noise, baseline wander, mains interference, muscle bursts and
electrode motion.

The noise is drawn for the eight independent leads (I, II, V1..V6) only; the derived limb leads
inherit it through Einthoven and Goldberger, as they would in a real recorder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import signal as sps


@dataclass(frozen=True)
class NoiseProfile:
    """Recording noise added to the clean signal (mV)."""

    white_mv: float = 0.01  # std of white (sensor) noise
    wander_mv: float = 0.08  # amplitude of baseline wander (a few 0.05-0.5 Hz sinusoids)
    mains_hz: float | None = 50.0  # power-line frequency (50 or 60), None = none
    mains_mv: float = 0.0  # its amplitude
    emg_mv: float = 0.0  # muscle-noise bursts (20-150 Hz), std during bursts
    motion_mv: float = 0.0  # electrode motion and skin impedance (0.5-8 Hz), std


@lru_cache(maxsize=16)
def _emg_filter(fs: float) -> np.ndarray:
    high = min(150.0, 0.45 * fs)
    return sps.butter(4, [20.0, high], btype="bandpass", fs=fs, output="sos")


def recording_noise(rng: np.random.Generator, prof: NoiseProfile, n: int, fs: float,
                    t: np.ndarray) -> np.ndarray:
    """(8, n) noise for I, II, V1..V6 (the derived leads inherit it through Einthoven)."""
    out = prof.white_mv * rng.standard_normal((8, n))
    if prof.wander_mv > 0:
        out += _wander(rng, prof, t)
    if prof.mains_hz and prof.mains_mv > 0 and prof.mains_hz < fs / 2:
        out += _mains(rng, prof, t)
    if prof.emg_mv > 0:
        out += _emg(rng, prof, n, fs)
    if prof.motion_mv > 0:
        out += _motion(rng, prof, n, fs)
    return out


@lru_cache(maxsize=16)
def _motion_filter(fs: float) -> np.ndarray:
    return sps.butter(2, [0.5, min(8.0, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")


def _motion(rng: np.random.Generator, prof: NoiseProfile, n: int, fs: float) -> np.ndarray:
    """Electrode motion: band-passed (0.5-8 Hz) noise, its own level in each lead."""
    x = sps.sosfilt(_motion_filter(float(fs)), rng.standard_normal((8, n)), axis=1)
    x /= max(float(x.std()), 1e-12)
    return prof.motion_mv * rng.uniform(0.3, 1.0, size=(8, 1)) * x


def _wander(rng: np.random.Generator, prof: NoiseProfile, t: np.ndarray) -> np.ndarray:
    """Baseline wander: three slow sinusoids, mixed with a random gain and phase per lead."""
    freqs = rng.uniform(0.05, 0.5, size=3)
    arg = 2 * np.pi * freqs[:, None] * t[None, :]
    basis = np.concatenate([np.sin(arg), np.cos(arg)])  # (6, n)
    weights = rng.dirichlet(np.ones(3)) * prof.wander_mv
    phase = rng.uniform(0, 2 * np.pi, size=(8, 3))
    gain = rng.uniform(0.5, 1.0, size=(8, 1)) * weights[None, :]
    coef = np.concatenate([gain * np.cos(phase), gain * np.sin(phase)], axis=1)
    return coef @ basis


def _mains(rng: np.random.Generator, prof: NoiseProfile, t: np.ndarray) -> np.ndarray:
    """Power-line interference: one sinusoid, nearly in phase across the leads."""
    arg = 2 * np.pi * prof.mains_hz * t
    phase = rng.uniform(0, 2 * np.pi) + rng.uniform(-0.3, 0.3, size=(8, 1))
    gain = prof.mains_mv * rng.uniform(0.6, 1.0, size=(8, 1))
    return gain * np.cos(phase) * np.sin(arg)[None, :] + gain * np.sin(phase) * np.cos(arg)


def _emg(rng: np.random.Generator, prof: NoiseProfile, n: int, fs: float) -> np.ndarray:
    """Muscle noise: band-passed white noise inside a few bursts of 0.2-1.5 s."""
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
    return prof.emg_mv * rng.uniform(0.4, 1.0, size=(8, 1)) * env[None, :] * burst
