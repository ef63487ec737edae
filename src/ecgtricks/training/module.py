"""The LightningModule: a registry network, the configured loss, mixup, input mode, schedule.

Each trick is a setting of one unit used here: ``input.mode`` (crop or chunk), ``augment.mixup``
(none, input or manifold), the loss weights, and the optimiser/schedule; the training step
itself has no trick-specific code beyond choosing among them.

Every value is logged with ``sync_dist``: under DDP the training loss is averaged over the
replicas (each trains on its own shard), and validation values are equal on all of them (each
validates the whole fold).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from ecgtricks.models import build_model
from ecgtricks.scoring import metrics
from ecgtricks.scoring.labels import SCORED_CLASSES
from ecgtricks.training import optim
from ecgtricks.training.chunking import chunked_features
from ecgtricks.training.losses import build_loss
from ecgtricks.training.mixup import mixup


class ECGClassifier(pl.LightningModule):
    def __init__(
        self,
        model: dict[str, Any],
        optim: dict[str, Any],
        num_classes: int,
        in_channels: int,
        loss: dict[str, Any] | None = None,
        augment: dict[str, Any] | None = None,
        input: dict[str, Any] | None = None,  # noqa: A002 (the config group's name)
        class_counts: list[int] | None = None,
        threshold: float = 0.5,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = build_model(model, in_channels, num_classes)
        self.optim_cfg = dict(optim)
        # The schema (ecgtricks.runs.config) has checked every choice; these are plain strings here.
        self.augment = dict(augment or {"mixup": "none"})
        self.input_cfg = dict(input or {"mode": "crop"})
        self.threshold = threshold
        self.criterion = build_loss(loss or {}, class_counts or [1] * num_classes)
        self._val_probs: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []
        self.val_results: dict[str, Any] = {}

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of whole records (evaluation): padding masked, no chunking."""
        return self.net(x, lengths)

    def train_features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.input_cfg["mode"] == "chunk":
            return chunked_features(
                self.net, x, lengths, int(self.input_cfg["chunk_length"]), int(self.input_cfg["chunk_stride"])
            )
        return self.net.features(x)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        x, y, lengths = batch
        mode, alpha = self.augment["mixup"], float(self.augment.get("alpha", 0.2))
        if mode == "input":
            x, y = mixup(x, y, alpha)
            lengths = torch.full_like(lengths, x.shape[-1])  # a mix spans both records
        features = self.train_features(x, lengths)
        if mode == "manifold":
            features, y = mixup(features, y, alpha)
        loss = self.criterion(self.net.head(self.net.dropout(features)), y)
        self.log("train/loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True)
        self.log("lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        x, y, lengths = batch
        logits = self(x, lengths)
        self.log("val/loss", self.criterion(logits, y), on_step=False, on_epoch=True, prog_bar=True, batch_size=len(x), sync_dist=True)
        self._val_probs.append(torch.sigmoid(logits).float().cpu())
        self._val_targets.append(y.cpu())

    def on_validation_epoch_end(self) -> None:
        if not self._val_probs:
            return
        probs = torch.cat(self._val_probs).numpy().astype(np.float64)
        targets = torch.cat(self._val_targets).numpy() > 0.5
        self._val_probs.clear()
        self._val_targets.clear()
        binary = probs >= self.threshold
        scores = metrics.evaluate(targets, probs, binary)
        self.val_results = {"probabilities": probs, "targets": targets, "metrics": scores}
        for key in ("challenge_score", "f_measure", "auroc"):
            value = scores[key]
            self.log(f"val/{key}", float(value) if np.isfinite(value) else 0.0, prog_bar=key == "challenge_score", sync_dist=True)
        _, per_class = metrics.f_measure(targets, binary)
        for code, value in zip(SCORED_CLASSES, per_class, strict=True):
            if np.isfinite(value):  # classes absent from the fold have no F1
                self.log(f"val/f1/{code}", float(value), sync_dist=True)

    def configure_optimizers(self) -> dict[str, Any]:
        return optim.configure(self, self.optim_cfg, int(self.trainer.estimated_stepping_batches))
