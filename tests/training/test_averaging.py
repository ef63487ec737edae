"""Weight averaging (``ema``, ``swa``): the average is the one its formula gives, validation and
the saved model use it, ``decay=0`` is the plain run bit for bit, and a run stopped after an
epoch and resumed ends on the same weights as an uninterrupted one."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch import nn

from ecgtricks.runs import rundir
from ecgtricks.runs.recipes import resolve
from ecgtricks.training.averaging import EMA, SWA
from ecgtricks.training.fit import fit

# --------------------------------------------------------------------------- the formulas


class _Tiny(pl.LightningModule):
    """A linear layer after batch norm, trained by SGD on fixed data; records the weights after
    each optimiser step and the weights validation saw."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.norm, self.lin = nn.BatchNorm1d(3), nn.Linear(3, 1)
        self.after_step: list[torch.Tensor] = []
        self.validated: list[torch.Tensor] = []

    def train_features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.lin(self.norm(x))

    def training_step(self, batch: Any, _: int) -> torch.Tensor:
        x, y, lengths = batch
        return (self.train_features(x, lengths) - y).pow(2).mean()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.after_step.append(self.lin.weight.detach().clone())

    def validation_step(self, batch: Any, _: int) -> None:
        self.validated.append(self.lin.weight.detach().clone())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class _Data(pl.LightningDataModule):
    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        x = torch.randn(32, 3, generator=g) * 3 + 1
        self.data = torch.utils.data.TensorDataset(x, x[:, :1] * 2, torch.full((32,), 3))

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(self.data, batch_size=8)  # 4 steps per epoch, fixed order

    def val_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(self.data, batch_size=32)


def _fit(callback: pl.Callback, epochs: int, tmp_path: Path) -> _Tiny:
    model = _Tiny()
    trainer = pl.Trainer(max_epochs=epochs, callbacks=[callback], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                         default_root_dir=str(tmp_path))
    trainer.fit(model, datamodule=_Data())
    return model


def test_ema_is_the_warmed_up_moving_average_and_validation_and_the_model_use_it(tmp_path: Path) -> None:
    ema = EMA(decay=0.9)
    model = _fit(ema, epochs=2, tmp_path=tmp_path)
    assert ema.decay_at(0) == pytest.approx(0.1) and ema.decay_at(1000) == 0.9
    averages = [model.after_step[0]]  # the first update copies the weights
    for t, w in enumerate(model.after_step[1:], start=1):
        averages.append(torch.lerp(averages[-1], w, 1.0 - ema.decay_at(t)))
    assert len(model.after_step) == 8 and len(model.validated) == 2  # 4 steps per epoch
    for epoch, seen in enumerate(model.validated):  # validation sees the average of its epoch's end
        torch.testing.assert_close(seen, averages[4 * epoch + 3], rtol=0, atol=0)
    torch.testing.assert_close(model.lin.weight.detach(), averages[-1], rtol=0, atol=0)  # and the model ends on it
    assert not torch.equal(averages[-1], model.after_step[-1])


def test_swa_averages_the_last_share_of_epochs_and_recomputes_batch_norm(tmp_path: Path) -> None:
    swa = SWA(share=0.5, max_epochs=4)
    assert swa.start_epoch == 2
    model = _fit(swa, epochs=4, tmp_path=tmp_path)
    ends = [model.after_step[4 * e + 3] for e in range(4)]
    average = (ends[2] + ends[3]) / 2
    torch.testing.assert_close(model.lin.weight.detach(), average, rtol=1e-6, atol=1e-7)
    # Epochs 0-1 validate the trained weights; epoch 2 the average of one epoch, epoch 3 of two.
    torch.testing.assert_close(model.validated[0], ends[0], rtol=0, atol=0)
    torch.testing.assert_close(model.validated[1], ends[1], rtol=0, atol=0)
    torch.testing.assert_close(model.validated[2], ends[2], rtol=0, atol=0)
    torch.testing.assert_close(model.validated[3], average, rtol=1e-6, atol=1e-7)
    # Batch norm: the statistics of the training inputs (one pass, cumulative), not an average.
    x = _Data().data.tensors[0]
    torch.testing.assert_close(model.norm.running_mean, x.mean(0), rtol=1e-5, atol=1e-6)
    batches = x.reshape(4, 8, 3)
    torch.testing.assert_close(model.norm.running_var, batches.var(1, unbiased=True).mean(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("make", "message"), [(lambda: EMA(decay=1.0), "ema decay"),
                                               (lambda: SWA(share=0.0), "swa share")])
def test_bad_settings_say_which(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_swa_averages_at_least_one_epoch() -> None:
    assert SWA(share=0.01, max_epochs=10).start_epoch == 9
    assert SWA(share=1.0, max_epochs=3).start_epoch == 0
    assert SWA(share=0.25, max_epochs=8).start_epoch == 6
    assert math.isclose(SWA(share=0.25, max_epochs=8).share, 0.25)


# --------------------------------------------------------------------------- the real fit


def _run(compose: Any, out: Path, *overrides: str) -> tuple[dict[str, Any], np.ndarray]:
    cfg = compose("debug=smoke", "data.n_records=64", "data.limit=64", "logger=csv", *overrides)
    summary = fit(rundir.bind(resolve(cfg, list(overrides)), out), list(overrides))
    return summary, np.load(out / "model" / "val_predictions.npz")["probabilities"]


@pytest.mark.slow
def test_ema_with_decay_zero_is_the_plain_run_bit_for_bit(compose: Any, tmp_path: Path) -> None:
    plain, p_plain = _run(compose, tmp_path / "plain", "trainer.max_epochs=2")
    zero, p_zero = _run(compose, tmp_path / "zero", "trainer.max_epochs=2", "+trick=ema", "callbacks.ema.decay=0")
    np.testing.assert_array_equal(p_zero, p_plain)
    assert zero["challenge_score"] == plain["challenge_score"]


@pytest.mark.slow
@pytest.mark.parametrize("trick", ["ema", "swa"])
def test_a_stopped_and_resumed_run_ends_on_the_same_average(trick: str, compose: Any, tmp_path: Path) -> None:
    """Three epochs at once, or two and then the third from ``last.ckpt`` (swa averages epochs 1
    and 2, so the stop falls inside its averaging)."""
    extra = ["callbacks.swa.share=0.67", "callbacks.swa.max_epochs=3"] if trick == "swa" else []
    whole, p_whole = _run(compose, tmp_path / "whole", f"+trick={trick}", "trainer.max_epochs=3", *extra)
    _run(compose, tmp_path / "parts", f"+trick={trick}", "trainer.max_epochs=2", *extra)
    (tmp_path / "parts" / "summary.json").unlink()  # as if stopped after epoch 2
    resumed, p_resumed = _run(compose, tmp_path / "parts", f"+trick={trick}", "trainer.max_epochs=3", *extra)
    assert resumed["epochs"] == whole["epochs"]
    np.testing.assert_array_equal(p_resumed, p_whole)
    # A finished run resumed (killed before summary.json) scores the same average, not the raw weights.
    (tmp_path / "whole" / "summary.json").unlink()
    again, p_again = _run(compose, tmp_path / "whole", f"+trick={trick}", "trainer.max_epochs=3", *extra)
    np.testing.assert_array_equal(p_again, p_whole)


def test_ema_and_swa_together_are_refused_in_one_line(compose: Any) -> None:
    from ecgtricks.runs.config import check
    from ecgtricks.utils.errors import ConfigError

    check(compose("+trick=ema"))
    check(compose("+trick=swa", "experiment=dsail2020"))
    with pytest.raises(ConfigError, match="callbacks ema and swa both average the weights"):
        check(compose("+trick=[ema,swa]"))


@pytest.mark.slow
@pytest.mark.parametrize("trick", ["ema", "swa"])
def test_one_epoch_on_the_paper_recipe(trick: str, compose: Any, tmp_path: Path) -> None:
    summary, probs = _run(compose, tmp_path / trick, "experiment=dsail2020", f"+trick={trick}")
    assert summary["epochs"] == 1 and probs.shape[0] == summary["n_val"] > 0
    assert -1.0 <= summary["challenge_score"] <= 1.0
