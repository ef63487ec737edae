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


OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def build_optimizer(module: nn.Module, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """``optim.optimizer``: ``adam`` (the paper's; weight decay is L2 added to the gradient, so
    Adam rescales it) or ``adamw`` (decay applied to the weights directly, decoupled from the
    adaptive step). A missing key means ``adam``, so older configs build the same optimiser."""
    kind = str(cfg.get("optimizer") or "adam")
    if kind not in OPTIMIZERS:
        raise ValueError(f"optim.optimizer={kind!r}: expected one of {sorted(OPTIMIZERS)}")
    groups = parameter_groups(module, cfg["weight_decay"], bool(cfg.get("no_bias_decay")))
    return OPTIMIZERS[kind](groups, lr=cfg["lr"])


def configure(module: nn.Module, cfg: dict[str, Any], total_steps: int) -> dict[str, Any]:
    """Lightning's ``configure_optimizers`` answer for the ``optim`` section; ``total_steps`` is
    the trainer's estimated number of optimiser steps (the step-wise schedules span it)."""
    optimizer = build_optimizer(module, cfg)
    kind = str(cfg.get("scheduler", "plateau"))
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
    if kind == "one_cycle":
        # optim.lr is the peak: starts at lr/25, peaks after pct_start of the steps, anneals
        # (cosine) to lr/(25*1e4). Stepped per batch, so it must know every step up front.
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg["lr"], total_steps=max(1, int(total_steps)),
            pct_start=float(cfg.get("one_cycle_pct_start", 0.3)),
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
    return {"optimizer": optimizer}  # scheduler "none"
