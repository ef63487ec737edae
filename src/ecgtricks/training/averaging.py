"""Weight averaging: an exponential moving average of the weights (``ema``) and stochastic weight
averaging over the last share of the epochs (``swa``, Izmailov et al. 2018).

Both are Lightning's :class:`~pytorch_lightning.callbacks.WeightAveraging` (torch's
``AveragedModel`` underneath), which already does what the tricks need: validation runs on the
averaged weights (so the best checkpoint, threshold tuning and the metrics are the average's), a
checkpoint holds the averaged weights in ``state_dict`` and the trained ones beside them (so a
resumed run continues both), and training ends with the average copied into the model (so the
saved model directory is the average). What is added here:

- the average is swapped in only while fitting, and only once it holds one (the fit's own
  validation of the final or best weights scores them as they are);
- EMA warms its decay up over the first steps and updates all tensors with one multi-tensor
  ``lerp``;
- SWA adds each averaged epoch's weights at that epoch's last step (before its validation and
  checkpoint, so a resumed run has them) and at the end recomputes the batch-norm statistics of
  the average with one pass over the training batches through the training path (crops or
  chunks), as torch's ``update_bn`` does; the fit then validates again (``revalidate``);
- a run resumed after its last epoch (killed before ``summary.json``) still ends on the average:
  Lightning skips ``on_train_end`` then, so the copy happens in ``on_fit_end``.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import WeightAveraging


class _Averaging(WeightAveraging):
    """Lightning's callback, swapping the average in only while fitting and once it holds one.

    Outside ``fit`` (the fit's own ``trainer.validate`` of the final or the best weights) the
    module already holds the weights to score; Lightning's callback would swap its stored
    average in. Before the first update the ``AveragedModel`` holds the initial weights, which
    must be neither validated nor checkpointed."""

    revalidate = False  # whether the model changes after its last validation (the fit re-validates)

    def _holds_average(self) -> bool:
        return self._average_model is not None and int(self._average_model.n_averaged) > 0

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "fit" and self._holds_average():
            self._swap_models(pl_module)

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == "fit" and self._holds_average():
            self._swap_models(pl_module)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict[str, Any]) -> None:
        if self._holds_average():
            super().on_save_checkpoint(trainer, pl_module, checkpoint)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        pass  # in on_fit_end, which also runs when a finished run is resumed (on_train_end does not)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._holds_average():
            self._copy_average_to_current(pl_module)
            self.finish(trainer, pl_module)

    def finish(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """After the average is in the model: what else the method does at the end."""


class EMA(_Averaging):
    """Exponential moving average of parameters and buffers, updated after every optimiser step:
    ``w_ema <- d_t * w_ema + (1 - d_t) * w`` with ``d_t = min(decay, (1 + t) / (10 + t))`` after
    ``t`` steps (TensorFlow's ``ExponentialMovingAverage(num_updates=t)``, timm's EMA warm-up), so
    a short run is not dominated by its initial weights. ``decay=0``: the average is the model,
    exactly (the neutral setting).

    The decay is computed on the host from the step count and applied with one multi-tensor
    ``lerp``; torch's ``AveragedModel`` still reads its update count once per step.
    """

    def __init__(self, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema decay must lie in [0, 1), got {decay!r}")
        super().__init__(use_buffers=True, multi_avg_fn=self._lerp)
        self.decay = float(decay)
        self._decay_now = self.decay

    def decay_at(self, step_idx: int) -> float:
        """``d_t`` for the update after optimiser step ``step_idx`` (zero-based)."""
        return min(self.decay, (1.0 + step_idx) / (10.0 + step_idx))

    def _lerp(self, averaged: list[torch.Tensor], current: list[torch.Tensor], _n: torch.Tensor) -> None:
        if torch.is_floating_point(averaged[0]):
            torch._foreach_lerp_(averaged, current, 1.0 - self._decay_now)
        else:  # integer buffers (batch norm's counters): the model's
            for a, c in zip(averaged, current, strict=True):
                a.copy_(c)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self._decay_now = self.decay_at(trainer.global_step - 1)
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


class SWA(_Averaging):
    """The equal average of the weights at the end of each of the last ``share`` of the epochs
    (at least one), batch-norm statistics recomputed for the average at the end."""

    revalidate = True  # the batch-norm statistics change after the last validation

    def __init__(self, share: float = 0.25, max_epochs: int = 1) -> None:
        if not 0.0 < share <= 1.0:
            raise ValueError(f"swa share must lie in (0, 1], got {share!r}")
        super().__init__(use_buffers=True)
        self.share, self.max_epochs = share, int(max_epochs)
        self.start_epoch = max(0, self.max_epochs - max(1, math.ceil(share * self.max_epochs)))

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return False  # updated at an epoch's last step instead (below)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        # At the epoch's last step, not at its end (Lightning's epoch update): validation then
        # sees the new average and the epoch's checkpoint holds it, so a resumed run loses none.
        if trainer.current_epoch >= self.start_epoch and batch_idx + 1 >= trainer.num_training_batches:
            assert self._average_model is not None
            self._average_model.update_parameters(pl_module)

    def finish(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        recompute_batch_norm(pl_module, trainer.datamodule.train_dataloader())


@torch.no_grad()
def recompute_batch_norm(pl_module: Any, loader: Any) -> None:
    """Batch-norm running statistics of ``pl_module``'s weights from one pass over ``loader``'s
    training batches through its training path (torch's ``update_bn``, which feeds only the
    first tensor of a batch to ``forward``: here crops and chunks take the path they trained on).
    The batches are those of epoch 0 of the run's seed, so a resumed run computes the same."""
    norms = [m for m in pl_module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = {m: m.momentum for m in norms}
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the pass
    was_training = pl_module.training
    pl_module.train()
    try:
        for x, _y, lengths in loader:
            pl_module.train_features(x.to(pl_module.device), lengths.to(pl_module.device))
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        pl_module.train(was_training)


def check_averaging(callbacks: dict[str, Any]) -> None:
    """One weight average per run: two would each swap their own average in (one line why)."""
    from ecgtricks.utils.errors import ConfigError

    targets = {name: str((c or {}).get("_target_", "")) for name, c in callbacks.items()}
    averaging = sorted(n for n, t in targets.items() if t.rsplit(".", 1)[-1] in {"EMA", "SWA", "WeightAveraging",
                                                                             "EMAWeightAveraging"})
    if len(averaging) > 1:
        raise ConfigError(f"callbacks {' and '.join(averaging)} both average the weights (each would swap its own "
                          f"average in for validation and the saved model): keep one")
