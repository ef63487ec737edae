"""Signal augmentations of training batches, on the training device, per record, no Python loop
over records or leads: each is one array expression over the whole batch (records x leads x
samples). Draws use torch's global generator, which the ``EpochSeed`` callback seeds from (seed,
epoch), so a rerun (or a resumed run) draws the same. Validation and prediction never see them.

Each has one strength setting in ``augment`` whose 0 switches it off (the batch is returned
untouched, bit for bit), and each augmented record is chosen with probability ``augment.p``:

- ``baseline_wander``: a sum of three sinusoids of 0.05-0.5 Hz (per record), random phase and
  amplitude up to the setting (in the signal's units) per lead;
- ``noise``: Gaussian noise of standard deviation up to the setting, a 50 or 60 Hz power-line
  sinusoid of half that amplitude, and muscle noise (the same Gaussian draw differenced: high
  frequencies) of half that standard deviation;
- ``amplitude_scale``: each lead scaled by a factor drawn from [1 - s, 1 + s];
- ``time_stretch``: the record resampled by a factor drawn from [1 - s, 1 + s] about its start
  (linear interpolation, ``grid_sample``), zero past its end;
- ``time_mask``: one span per record, of up to the setting's share of the window, zeroed.

Records' padding (past ``lengths``) stays zero. CutMix is a mixup mode (``augment.mixup=cutmix``,
:func:`ecgtricks.training.mixup.cutmix`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

SETTINGS = ("baseline_wander", "noise", "amplitude_scale", "time_stretch", "time_mask")


def _chosen(x: torch.Tensor, p: float) -> torch.Tensor:
    """Which records of ``x`` are augmented: (records, 1, 1) booleans, drawn on its device."""
    return torch.rand(x.shape[0], 1, 1, device=x.device) < p


def baseline_wander(x: torch.Tensor, fs: float, amplitude: float) -> torch.Tensor:
    n, leads, samples = x.shape
    t = torch.arange(samples, device=x.device, dtype=x.dtype) / fs
    # Three frequencies per record (respiration moves every lead alike), phase and amplitude per
    # lead: sin(a + p) = sin a cos p + cos a sin p needs one sin and cos per record, not per lead.
    arg = 2 * math.pi * (0.05 + 0.45 * torch.rand(n, 1, 3, 1, device=x.device, dtype=x.dtype)) * t
    phase = 2 * math.pi * torch.rand(n, leads, 3, 1, device=x.device, dtype=x.dtype)
    amp = amplitude * torch.rand(n, leads, 3, 1, device=x.device, dtype=x.dtype) / 3
    return (amp * (torch.sin(arg) * torch.cos(phase) + torch.cos(arg) * torch.sin(phase))).sum(dim=2)


def noise(x: torch.Tensor, fs: float, sd: float) -> torch.Tensor:
    n, leads, samples = x.shape
    level = sd * torch.rand(n, 1, 1, device=x.device, dtype=x.dtype)
    # One Gaussian draw serves both: itself (white) and its first difference (muscle: high frequencies).
    white = torch.randn(n, leads, samples + 1, device=x.device, dtype=x.dtype)
    muscle = (white[..., 1:] - white[..., :-1]) * (0.5 / math.sqrt(2.0))
    mains = torch.where(torch.rand(n, 1, 1, device=x.device) < 0.5, 50.0, 60.0).to(x.dtype)
    arg = 2 * math.pi * mains * (torch.arange(samples, device=x.device, dtype=x.dtype) / fs)  # n x 1 x samples
    phase = 2 * math.pi * torch.rand(n, leads, 1, device=x.device, dtype=x.dtype)
    # sin(arg + phase) per lead from one sin and cos per record (not one sin per lead and sample)
    powerline = 0.5 * (torch.sin(arg) * torch.cos(phase) + torch.cos(arg) * torch.sin(phase))
    return level * (white[..., 1:] + muscle + powerline)


def amplitude_scale(x: torch.Tensor, s: float) -> torch.Tensor:
    n, leads, _ = x.shape
    return x * (1 - s + 2 * s * torch.rand(n, leads, 1, device=x.device, dtype=x.dtype))


def time_stretch(x: torch.Tensor, s: float) -> torch.Tensor:
    """Sample ``t`` of the output is the input at ``t / factor`` (factor > 1: slower, longer)."""
    n, _, samples = x.shape
    factor = 1 - s + 2 * s * torch.rand(n, 1, device=x.device, dtype=x.dtype)
    source = torch.arange(samples, device=x.device, dtype=x.dtype)[None] / factor  # n x samples
    coords = 2 * source / max(samples - 1, 1) - 1  # align_corners=True's [-1, 1]
    grid = torch.stack([coords, torch.zeros_like(coords)], dim=-1)[:, None]  # n x 1 x samples x 2
    out = F.grid_sample(x[:, :, None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out[:, :, 0]


def time_mask(x: torch.Tensor, share: float) -> torch.Tensor:
    n, _, samples = x.shape
    width = (share * samples * torch.rand(n, 1, device=x.device)).long()
    start = (torch.rand(n, 1, device=x.device) * (samples - width + 1)).long()
    t = torch.arange(samples, device=x.device)[None]
    keep = ~((t >= start) & (t < start + width))
    return x * keep[:, None].to(x.dtype)


def augment_signals(x: torch.Tensor, lengths: torch.Tensor, cfg: dict[str, Any], fs: float | None) -> torch.Tensor:
    """The batch with every augmentation whose setting in ``cfg`` is not 0, in the order of
    :data:`SETTINGS`; each record augmented with probability ``cfg['p']``."""
    active = [name for name in SETTINGS if float(cfg.get(name, 0.0) or 0.0) > 0]
    if not active:
        return x
    if fs is None and {"baseline_wander", "noise"} & set(active):
        raise ValueError("baseline_wander and noise need the records' sampling rate (preprocess.resample.fs)")
    p = float(cfg.get("p", 0.5))
    valid = (torch.arange(x.shape[-1], device=x.device)[None] < lengths[:, None]).to(x.dtype)[:, None]
    for name in active:
        value = float(cfg[name])
        chosen = _chosen(x, p)
        if name == "baseline_wander":
            changed = x + baseline_wander(x, fs, value) * valid
        elif name == "noise":
            changed = x + noise(x, fs, value) * valid
        else:
            changed = {"amplitude_scale": amplitude_scale, "time_stretch": time_stretch,
                       "time_mask": time_mask}[name](x, value) * valid
        x = torch.where(chosen, changed, x)  # the records not chosen exactly as they were
    return x
