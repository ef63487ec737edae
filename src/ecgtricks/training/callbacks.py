"""The project's Lightning callbacks, configured as named entries of ``configs/callbacks``."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytorch_lightning as pl
import torch

log = logging.getLogger("ecgtricks.train")


class EpochSeed(pl.Callback):
    """Reseed every generator at each epoch's start from (seed, epoch): dropout and mixup draws
    of a run resumed from an epoch's checkpoint repeat those of an uninterrupted run."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        pl.seed_everything(self.seed * 1000 + trainer.current_epoch, workers=True, verbose=False)


class Throughput(pl.Callback):
    """Training records per second of each epoch, from its first step to its last (validation
    left out), over all replicas; logged as ``train/records_per_s`` and kept in ``history``.

    The GPU is synchronised before the clock is read at both ends: kernels still queued at
    the last step would otherwise be counted in validation's time instead of training's.
    """

    def __init__(self) -> None:
        self.history: list[dict[str, float]] = []
        self._started: float | None = None
        self._records = 0
        self.first_step_s: float | None = None  # from the command (process start) to the first step
        self.val_seconds: list[float] = []  # each validation pass (sanity check excluded)
        self._val_started: float | None = None

    @staticmethod
    def _clock(trainer: pl.Trainer) -> float:
        if trainer.strategy.root_device.type == "cuda":
            torch.cuda.synchronize(trainer.strategy.root_device)
        return time.perf_counter()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started, self._records = None, 0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        if self._started is None:
            self._started = self._clock(trainer)
        if self.first_step_s is None:
            import ecgtricks

            self.first_step_s = time.time() - ecgtricks.STARTED

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._records += len(batch[0]) * trainer.world_size

    def _close(self, trainer: pl.Trainer) -> None:
        if self._started is None or not self._records:
            return
        seconds = self._clock(trainer) - self._started
        self.history.append({"epoch": trainer.current_epoch, "seconds": seconds, "records": self._records,
                             "records_per_s": self._records / seconds})
        self._started, self._records = None, 0

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "fit" and not trainer.sanity_checking:  # the epoch's training steps are over
            self._close(trainer)
        self._val_started = None if trainer.sanity_checking else self._clock(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._val_started is not None:  # the pass and its metrics
            self.val_seconds.append(self._clock(trainer) - self._val_started)
            self._val_started = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._close(trainer)  # epochs without validation
        if self.history and self.history[-1]["epoch"] == trainer.current_epoch:
            pl_module.log("train/records_per_s", self.history[-1]["records_per_s"], on_epoch=True, rank_zero_only=True)


class EpochLine(pl.Callback):
    """One console line per epoch when progress bars are off: loss, validation challenge score
    and training records/s (what a user watching a run needs, and what train.log keeps)."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # After the epoch's validation; listed after Throughput, so its figure is in.
        if trainer.progress_bar_callback is not None or not trainer.is_global_zero:
            return
        metrics = trainer.callback_metrics

        def value(key: str, fmt: str) -> str:
            return format(float(metrics[key]), fmt) if key in metrics else "–"

        speed = next((c.history[-1]["records_per_s"] for c in trainer.callbacks
                      if isinstance(c, Throughput) and c.history), None)
        log.info(
            "epoch %d/%d: train loss %s, val loss %s, val challenge score %s, %s records/s",
            trainer.current_epoch + 1, trainer.max_epochs, value("train/loss", ".4f"),
            value("val/loss", ".4f"), value("val/challenge_score", ".4f"),
            "–" if speed is None else f"{speed:,.0f}",
        )
