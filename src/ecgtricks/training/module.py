"""The LightningModule: a network from the registry, BCE loss, Adam, validation metrics."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ecgtricks import metrics
from ecgtricks.models import create_model


class ECGClassifier(pl.LightningModule):
    def __init__(self, model: dict[str, Any], optim: dict[str, Any], num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.save_hyperparameters()
        model = dict(model)
        self.net = create_model(model.pop("name"), in_channels=in_channels, num_classes=num_classes, **model)
        self.optim_cfg = dict(optim)
        self._val_probs: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []
        self.val_results: dict[str, Any] = {}

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x, lengths)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = F.binary_cross_entropy_with_logits(self(x), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(x))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        x, y, lengths = batch
        logits = self(x, lengths)
        loss = F.binary_cross_entropy_with_logits(logits, y)
        self.log("val/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(x))
        self._val_probs.append(torch.sigmoid(logits).float().cpu())
        self._val_targets.append(y.cpu())

    def on_validation_epoch_end(self) -> None:
        if not self._val_probs:
            return
        probs = torch.cat(self._val_probs).numpy().astype(np.float64)
        targets = torch.cat(self._val_targets).numpy() > 0.5
        self._val_probs.clear()
        self._val_targets.clear()
        binary = probs >= float(self.optim_cfg.get("threshold", 0.5))
        scores = metrics.evaluate(targets, probs, binary)
        self.val_results = {"probabilities": probs, "targets": targets, "metrics": scores}
        for key in ("challenge_score", "f_measure", "auroc"):
            value = scores[key]
            self.log(f"val/{key}", float(value) if np.isfinite(value) else 0.0, prog_bar=key == "challenge_score")

    def configure_optimizers(self) -> dict[str, Any]:
        cfg = self.optim_cfg
        optimizer = torch.optim.Adam(self.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=cfg["plateau_factor"], patience=cfg["plateau_patience"]
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val/loss"}}
