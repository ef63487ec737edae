"""Mixup (Zhang et al. 2018) of inputs or of pooled features (manifold mixup, Verma et al. 2019),
and CutMix (Yun et al. 2019) of signals."""

from __future__ import annotations

import torch


def mixup(values: torch.Tensor, targets: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each sample with a random partner of the batch, ``lam ~ Beta(alpha, alpha)`` per batch.

    The same ``lam`` mixes values and targets, so each mixed target row is the convex
    combination of its two label rows. Uses torch's global RNG, seeded by the run.
    """
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    partner = torch.randperm(values.shape[0], device=values.device)
    return lam * values + (1 - lam) * values[partner], lam * targets + (1 - lam) * targets[partner]


def cutmix(x: torch.Tensor, y: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste a span of a random partner into each record, labels mixed by the span's share.

    ``lam ~ Beta(alpha, alpha)`` per batch sets the span, ``(1 - lam)`` of the window (rounded to
    samples), and its start is drawn per record; each target row becomes ``(1 - share) y +
    share y_partner`` with the exact share pasted. Uses torch's global RNG, seeded by the run.
    """
    samples = x.shape[-1]
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    width = int(round((1 - lam) * samples))
    partner = torch.randperm(x.shape[0], device=x.device)
    start = (torch.rand(x.shape[0], 1, device=x.device) * (samples - width + 1)).long()
    t = torch.arange(samples, device=x.device)[None]
    span = ((t >= start) & (t < start + width))[:, None]
    share = width / samples
    return torch.where(span, x[partner], x), (1 - share) * y + share * y[partner]
