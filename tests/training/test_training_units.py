"""The small units behind the training tricks: losses, mixup, chunking, optimiser and schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ecgtricks.models import create_model
from ecgtricks.scoring.labels import weight_matrix
from ecgtricks.training.chunking import chunk_starts, chunked_features
from ecgtricks.training.losses import build_loss
from ecgtricks.training.mixup import mixup
from ecgtricks.training.optim import configure, parameter_groups, warmup_cosine

C = 24


def _bce(p: float, y: float) -> float:
    return -(y * math.log(p) + (1 - y) * math.log(1 - p))


def test_plain_bce_equals_formula() -> None:
    torch.manual_seed(0)
    logits, y = torch.randn(5, C), (torch.rand(5, C) < 0.2).float()
    loss = build_loss({}, [1] * C)(logits, y)
    torch.testing.assert_close(loss, torch.nn.functional.binary_cross_entropy_with_logits(logits, y))


def test_class_weight_equals_formula() -> None:
    counts = np.arange(1, C + 1) * 10
    logits = torch.linspace(-2, 2, 2 * C).view(2, C)
    y = torch.zeros(2, C)
    y[0, 3] = y[1, 7] = y[1, 20] = 1
    loss = build_loss({"class_weight": True}, counts)(logits, y).item()
    p = torch.sigmoid(logits).numpy()
    w = np.sqrt(counts.max() / counts)
    expected = np.mean([[(w[j] if y[i, j] else 1.0) * _bce(p[i, j], float(y[i, j])) for j in range(C)] for i in range(2)])
    assert loss == pytest.approx(expected, rel=1e-5)


def test_confusion_weight_equals_formula() -> None:
    W = weight_matrix()
    logits = torch.linspace(-3, 3, 3 * C).view(3, C)
    y = torch.zeros(3, C)
    y[0, 1] = 1            # one label
    y[1, [2, 5]] = 1       # two labels: weights averaged
    # row 2: no scored label -> 0.5
    loss = build_loss({"confusion_weight": True}, [1] * C)(logits, y).item()
    p = torch.sigmoid(logits).numpy()
    terms = []
    for i in range(3):
        true = np.flatnonzero(y[i].numpy())
        for j in range(C):
            if y[i, j]:
                terms.append(_bce(p[i, j], 1.0))
            else:
                w = np.mean([1 - W[t, j] for t in true]) if len(true) else 0.5
                terms.append(w * _bce(p[i, j], 0.0))
    assert loss == pytest.approx(np.mean(terms), rel=1e-5)


def test_mixup_keeps_label_mass_and_convexity() -> None:
    torch.manual_seed(1)
    x = torch.randn(16, 12, 50)
    y = (torch.rand(16, C) < 0.3).float()
    torch.manual_seed(2)
    mx, my = mixup(x, y, 0.2)
    assert torch.isclose(my.sum(), y.sum(), rtol=1e-5)  # a permutation mixes the same rows
    assert my.min() >= 0 and my.max() <= 1 and mx.shape == x.shape
    # each mixed row is lam*row_i + (1-lam)*row_partner for one lam shared by x and y
    torch.manual_seed(2)
    lam = float(torch.distributions.Beta(0.2, 0.2).sample())
    partner = torch.randperm(16)
    torch.testing.assert_close(mx, lam * x + (1 - lam) * x[partner])
    torch.testing.assert_close(my, lam * y + (1 - lam) * y[partner])


def test_chunk_starts_cover_records_with_last_aligned() -> None:
    starts = chunk_starts(torch.tensor([5000, 2048, 3000, 1000]), 2048, 1536, 5000)
    assert starts[0].tolist() == [0, 1536, 2952]
    assert starts[1].tolist() == [0, 0, 0]
    assert starts[2].tolist() == [0, 952, 952]
    assert starts[3].tolist() == [0, 0, 0]


def test_vectorised_chunk_pooling_equals_per_record_loop() -> None:
    torch.manual_seed(0)
    # float64: batched and per-record convolutions may sum in other orders; in double precision
    # that rounding (u = 1.1e-16 times reductions of ~1e4 terms) is far below the tolerance.
    net = create_model("resnet1d", base_width=4).eval().double()
    x = torch.randn(4, 12, 5000, dtype=torch.float64)
    lengths = torch.tensor([5000, 4100, 2500, 900])
    x[1, :, 4100:] = 0
    x[2, :, 2500:] = 0
    x[3, :, 900:] = 0
    with torch.no_grad():
        fast = chunked_features(net, x, lengths, 2048, 1536)
        for b, n in enumerate(lengths.tolist()):
            record = x[b : b + 1, :, : max(n, 2048)]
            starts = list(range(0, max(n - 2048, 0) + 1, 1536))
            if starts[-1] != max(n - 2048, 0):
                starts.append(n - 2048)
            per_chunk = [net.features(record[..., s : s + 2048]) for s in starts]
            torch.testing.assert_close(fast[b : b + 1], torch.stack(per_chunk).amax(0), rtol=1e-9, atol=1e-9)


def test_no_bias_decay_groups_and_warmup_cosine() -> None:
    net = create_model("resnet1d", base_width=4)
    decay, no_decay = parameter_groups(net, 5e-4, True)
    assert all(p.ndim > 1 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert no_decay["weight_decay"] == 0 and decay["weight_decay"] == 5e-4
    assert len(parameter_groups(net, 5e-4, False)) == 1
    factors = [warmup_cosine(s, 100, 10) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:], strict=False)) and factors[-1] < 0.01
    opt = configure(net, {"lr": 1e-3, "weight_decay": 5e-4, "scheduler": "warmup_cosine",
                          "warmup_fraction": 0.1, "no_bias_decay": True}, 100)
    assert opt["lr_scheduler"]["interval"] == "step"


def test_throughput_counts_every_training_record_and_leaves_validation_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The meter's clock is replaced by a counter that each training step advances by 1 and each
    validation step by 100: the figures are exact on any machine, however loaded."""
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    from ecgtricks.training.callbacks import Throughput

    clock = [0.0]
    monkeypatch.setattr(Throughput, "_clock", staticmethod(lambda trainer: clock[0]))

    class Slow(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
            clock[0] += 1
            return self.layer(batch[0]).mean()

        def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
            clock[0] += 100  # slow validation must not lower the training figure

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    loader = DataLoader(TensorDataset(torch.randn(50, 4)), batch_size=8)  # 7 batches, the last of 2
    meter = Throughput()
    trainer = pl.Trainer(max_epochs=2, callbacks=[meter], logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(Slow(), loader, loader)
    assert [h["records"] for h in meter.history] == [50, 50]
    assert [h["seconds"] for h in meter.history] == [7, 7], "validation time was counted"
    assert meter.val_seconds == [700, 700]
    assert trainer.callback_metrics["train/records_per_s"] == pytest.approx(50 / 7)
