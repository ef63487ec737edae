"""Optimiser and learning-rate schedule from the ``optim`` config."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn


def parameter_groups(module: nn.Module, weight_decay: float, no_bias_decay: bool) -> list[dict[str, Any]]:
    """With ``no_bias_decay``, biases and normalisation parameters (all 1-D tensors) get no decay."""
    if not no_bias_decay:
        return [{"params": [p for p in module.parameters() if p.requires_grad], "weight_decay": weight_decay}]
    decay, no_decay = [], []
    for p in module.parameters():
        if p.requires_grad:
            (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """LR factor: linear from 1/warmup to 1 over ``warmup`` steps, then cosine to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1 + math.cos(math.pi * progress))


def configure(module: nn.Module, cfg: dict[str, Any], total_steps: int) -> dict[str, Any]:
    groups = parameter_groups(module, cfg["weight_decay"], bool(cfg.get("no_bias_decay")))
    optimizer = torch.optim.Adam(groups, lr=cfg["lr"])
    kind = cfg.get("scheduler", "plateau")
    if kind == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=cfg["plateau_factor"], patience=cfg["plateau_patience"]
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss"}}
    if kind == "warmup_cosine":
        warmup = max(1, round(cfg["warmup_fraction"] * total_steps))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: warmup_cosine(step, total_steps, warmup)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
    return {"optimizer": optimizer}  # scheduler "none"
