"""Mixup (Zhang et al. 2018) of inputs or of pooled features (manifold mixup, Verma et al. 2019)."""

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
