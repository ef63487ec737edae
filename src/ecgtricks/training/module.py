"""The LightningModule: a registry network, the configured loss, mixup, input mode, schedule.

Each trick is a setting of one unit used here: ``input.mode`` (crop or chunk), ``augment.mixup``
(none, input or manifold), the loss weights, the optimiser/schedule and evaluation over windows; the training step
itself has no trick-specific code beyond choosing among them.

Every value is logged with ``sync_dist``: under DDP the training loss is averaged over the
replicas (each trains on its own shard), and validation values are equal on all of them (each
validates the whole fold).

A training step never waits for the device: nothing in it reads a device tensor's value on the
host (no ``.item()``, ``float(tensor)`` or ``.cpu()``; mixup's coefficient is drawn and read on
the CPU), and nothing is logged per step. The loss is
summed on the device and the learning rate on the host, and both are logged once, at the
epoch's last step, as their means over the epoch's records (the values the per-step
``self.log(..., on_epoch=True)`` of earlier versions gave, which cost ~1 ms of host time per
call and, for the learning rate, a host-to-device copy that synchronised the GPU every step).
With ``compile``, the training features (the network up to its pooling, over crops or chunks)
run through ``torch.compile``; mixup, the head and evaluation (whole records of any length, so
new shapes every batch) stay eager.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from ecgtricks.models import build_model
from ecgtricks.models.windows import sliding_window_logits
from ecgtricks.scoring import metrics
from ecgtricks.scoring.editions import edition as scored_edition
from ecgtricks.training import optim
from ecgtricks.training.augment import augment_signals
from ecgtricks.training.chunking import chunked_features
from ecgtricks.training.losses import build_loss
from ecgtricks.training.mixup import cutmix, mixup


class _EpochSums:
    """Loss x records (a tensor on the device: adding never waits for it), learning rate x
    records (a host float) and records, over the steps of an epoch so far."""

    __slots__ = ("loss", "lr", "records")

    def __init__(self) -> None:
        self.loss: torch.Tensor | float = 0.0
        self.lr, self.records = 0.0, 0

    def add(self, loss: torch.Tensor, lr: float, n: int) -> None:
        self.loss = self.loss + loss.detach().float() * n
        self.lr += lr * n
        self.records += n


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
        compile: bool = False,  # noqa: A002 (trainer.compile)
        edition: int = 2020,  # the challenge edition: its classes, weights and scorer
        tta: dict[str, Any] | None = None,  # evaluation over windows: {how, window, stride} (samples)
        fs: float | None = None,  # the cache's sampling rate (signal augmentations in Hz)
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = build_model(model, in_channels, num_classes)
        self.optim_cfg = dict(optim)
        # The schema (ecgtricks.runs.config) has checked every choice; these are plain strings here.
        self.augment = dict(augment or {"mixup": "none"})
        self.input_cfg = dict(input or {"mode": "crop"})
        self.threshold = threshold
        self.fs = fs
        self.edition = int(edition)
        self.tta = dict(tta) if tta and tta.get("how", "none") != "none" else None
        self.criterion = build_loss(loss or {}, class_counts or [1] * num_classes, edition=self.edition)
        self._val_probs: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []
        self.val_results: dict[str, Any] = {}
        # The epoch's running sums (a plain object: no nn.Module attribute checks per step).
        self._epoch = _EpochSums()
        # A compiled function, not a module: the state dict, checkpoints and model directories
        # keep the eager network's keys. None: eager.
        self._compiled_features = torch.compile(self.train_features) if compile else None

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of whole records (evaluation): padding masked, no chunking; with ``tta``, the
        aggregate over the records' windows (``sliding_window_tta``)."""
        if self.tta is not None:
            if lengths is None:
                lengths = torch.full((x.shape[0],), x.shape[-1], device=x.device)
            return sliding_window_logits(self.net, x, lengths, int(self.tta["window"]), int(self.tta["stride"]),
                                         str(self.tta["how"]))
        return self.net(x, lengths)

    def train_features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.input_cfg["mode"] == "chunk":
            return chunked_features(
                self.net, x, lengths, int(self.input_cfg["chunk_length"]), int(self.input_cfg["chunk_stride"])
            )
        return self.net.features(x)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The loss of one training batch: input mode, mixup, dropout, head (no logging; what a
        bare loop calls)."""
        mode, alpha = self.augment["mixup"], float(self.augment.get("alpha", 0.2))
        x = augment_signals(x, lengths, self.augment, self.fs)
        if mode in ("input", "cutmix"):
            x, y = (mixup if mode == "input" else cutmix)(x, y, alpha)
            lengths = torch.full_like(lengths, x.shape[-1])  # a mix spans both records
        features = (self._compiled_features or self.train_features)(x, lengths)
        if mode == "manifold":
            features, y = mixup(features, y, alpha)
        return self.criterion(self.net.head(self.net.dropout(features)), y)

    def training_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        x, y, lengths = batch
        loss = self.training_loss(x, y, lengths)
        trainer = self.trainer
        self._epoch.add(loss, trainer.optimizers[0].param_groups[0]["lr"], len(x))
        if batch_idx + 1 >= trainer.num_training_batches:  # the epoch's last step
            self._log_training_means()
        return loss

    def _log_training_means(self) -> None:
        """The epoch's mean training loss and learning rate, once; the sums start again."""
        sums, self._epoch = self._epoch, _EpochSums()
        if not sums.records:
            return
        n = sums.records
        self.log("train/loss", sums.loss / n, on_step=False, on_epoch=True, prog_bar=True, batch_size=n,
                 sync_dist=True)
        self.log("lr", sums.lr / n, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)

    def on_train_epoch_start(self) -> None:
        self._epoch = _EpochSums()

    def on_train_epoch_end(self) -> None:
        self._log_training_means()  # an epoch that stopped before its last batch (max_steps)

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
        scores = metrics.evaluate(targets, probs, binary, edition=self.edition)
        self.val_results = {"probabilities": probs, "targets": targets, "metrics": scores}
        for key in ("challenge_score", "f_measure", "auroc"):
            value = scores[key]
            self.log(f"val/{key}", float(value) if np.isfinite(value) else 0.0, prog_bar=key == "challenge_score", sync_dist=True)
        _, per_class = metrics.f_measure(targets, binary)
        for code, value in zip(scored_edition(self.edition).codes, per_class, strict=True):
            if np.isfinite(value):  # classes absent from the fold have no F1
                self.log(f"val/f1/{code}", float(value), sync_dist=True)

    def configure_optimizers(self) -> dict[str, Any]:
        return optim.configure(self, self.optim_cfg, int(self.trainer.estimated_stepping_batches))
