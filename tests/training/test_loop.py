"""The training loop wastes no device step: nothing per step reads a tensor back to the host or
copies a Python number to the device, the epoch's logged means are those of its steps, and the
speed settings (data.on_device, trainer.compile) keep results."""

from __future__ import annotations

import importlib
import json
import os
import traceback
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

TINY = ["experiment=dsail2020", "model.base_width=2", "model.layers=[1,1,1,1]", "input.chunk_length=256",
        "input.chunk_stride=192", "logger=csv", "trainer.enable_progress_bar=true", "trainer.log_every_n_steps=2"]


def _batches(n: int, batch: int = 4, width: int = 256) -> list[tuple[torch.Tensor, ...]]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        y = (torch.rand(batch, 24, generator=gen) < 0.2).float()
        y[:, 3] = 1
        out.append((torch.randn(batch, 12, width, generator=gen), y, torch.full((batch,), width)))
    return out


def _trainer(cfg: Any, run_dir: Path, callbacks: list[pl.Callback], **overrides: Any) -> pl.Trainer:
    from ecgtricks.runs.config import instantiate_named
    from ecgtricks.training.fit import build_trainer

    return build_trainer(cfg, run_dir, instantiate_named(cfg.logger, "logger"),
                         [*instantiate_named(cfg.callbacks, "callbacks"), *callbacks], **overrides)


@cache
def _loop_packages() -> tuple[str, ...]:
    """The directories of the packages whose code runs the training loop."""
    found = []
    for name in ("ecgtricks", "pytorch_lightning", "lightning_fabric", "lightning", "lightning_utilities", "tqdm"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        folder = Path(module.__file__).parent
        found += [str(folder) + os.sep, str(folder.resolve()) + os.sep]
    return tuple(found)


class HostReads(pl.Callback):
    """Records every read of a tensor's value on the host and every tensor made from Python
    values (``torch.tensor``: a host-to-device copy on a GPU) from the start of the first
    training step to the start of the last -- whatever code runs between: the loader, the step,
    every callback, the progress bar, the loggers."""

    READS = ("item", "tolist", "numpy", "cpu", "__float__", "__int__", "__bool__")

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch, self.active, self.sites = monkeypatch, False, []
        for name in self.READS:
            self._wrap(torch.Tensor, name)
        self._wrap(torch, "tensor")

    def _wrap(self, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if self.active:
                stack = traceback.extract_stack()[:-1]
                if self.ours(stack[-1].filename):
                    self.sites.append(f"{name} at " + " <- ".join(f"{Path(f.filename).name}:{f.lineno}"
                                                                  for f in reversed(stack[-4:])))
            return original(*args, **kwargs)

        self.monkeypatch.setattr(owner, name, wrapped)

    @staticmethod
    def ours(filename: str) -> bool:
        """Calls made by the loop's code: the project's, Lightning's, the progress bar's (by
        package directory: a checkout or virtual environment may have any of these names in its
        path). Not torch's own (Adam keeps its step count on the CPU on purpose, and reads it
        there), nor mixup's coefficient, drawn on the CPU by design (torch.distributions with
        float parameters): reading those never waits for a device."""
        if filename.endswith("training/mixup.py"):
            return False
        return filename.startswith(_loop_packages())

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.active = batch_idx < trainer.num_training_batches - 1


def test_no_training_step_reads_back_from_the_device(compose: Callable, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from ecgtricks.runs import rundir
    from ecgtricks.training.fit import build_module

    cfg = rundir.bind(compose(*TINY), tmp_path / "run" / "fold0")
    batches = _batches(8)
    module = build_module(cfg, [10] * 24)
    reads = HostReads(monkeypatch)
    trainer = _trainer(cfg, tmp_path, [reads], max_epochs=1)
    trainer.fit(module, DataLoader(batches, batch_size=None), DataLoader(batches[:1], batch_size=None))
    reads.active = False
    assert trainer.global_step == 8
    assert not reads.sites, "per-step host reads:\n" + "\n".join(reads.sites)


def test_epoch_means_are_those_of_the_steps(compose: Callable, tmp_path: Path) -> None:
    """train/loss and lr, logged once per epoch, are the means over the epoch's records of the
    per-step values (what per-step on_epoch logging gave)."""
    from ecgtricks.runs import rundir
    from ecgtricks.training.fit import build_module

    class Steps(pl.Callback):
        def __init__(self) -> None:
            self.loss: list[list[float]] = [[], []]
            self.lr: list[list[float]] = [[], []]

        def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
            self.lr[trainer.current_epoch].append(trainer.optimizers[0].param_groups[0]["lr"])

        def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any,
                               batch_idx: int) -> None:
            self.loss[trainer.current_epoch].append(float(outputs["loss"]))

        def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
            self.logged = {k: float(trainer.callback_metrics[k]) for k in ("train/loss", "lr")}

    cfg = rundir.bind(compose(*TINY, "trainer.enable_progress_bar=false"), tmp_path / "run" / "fold0")
    batches = _batches(5)
    steps = Steps()
    trainer = _trainer(cfg, tmp_path, [steps], max_epochs=2)
    trainer.fit(build_module(cfg, [10] * 24), DataLoader(batches, batch_size=None),
                DataLoader(batches[:1], batch_size=None))
    assert steps.logged["train/loss"] == pytest.approx(np.mean(steps.loss[1]), rel=1e-6)
    assert steps.logged["lr"] == pytest.approx(np.mean(steps.lr[1]), rel=1e-6)
    assert len(set(steps.lr[1])) == 5  # warm-up + cosine: the rate moves every step
    metrics = (tmp_path / "run" / "fold0" / "logs" / "metrics.csv").read_text().splitlines()
    header = metrics[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in metrics[1:]]
    assert sum(1 for r in rows if r.get("train/loss")) == 2  # one line per epoch


def test_trainer_gets_only_lightning_arguments_and_a_bar_that_redraws_every_n_steps(compose: Callable,
                                                                                      tmp_path: Path) -> None:
    from pytorch_lightning.callbacks import TQDMProgressBar

    from ecgtricks.runs import rundir
    from ecgtricks.training.fit import build_module

    cfg = rundir.bind(compose(*TINY, "trainer.compile=true"), tmp_path / "run" / "fold0")
    trainer = _trainer(cfg, tmp_path, [])
    (bar,) = [c for c in trainer.callbacks if isinstance(c, TQDMProgressBar)]
    assert bar.refresh_rate == 2
    eager, compiled = (build_module(compose(*TINY, f"trainer.compile={c}"), [1] * 24) for c in ("false", "true"))
    assert compiled._compiled_features is not None and eager._compiled_features is None
    assert list(compiled.state_dict()) == list(eager.state_dict())  # checkpoints keep the eager keys


def _smoke(compose: Callable, out: Path, *overrides: str) -> tuple[dict[str, Any], np.ndarray]:
    from ecgtricks.runs import rundir
    from ecgtricks.training.fit import fit

    cfg = rundir.bind(compose("debug=smoke", "trainer.max_epochs=2", "logger=csv", *overrides), out / "fold0")
    summary = fit(cfg, list(overrides))
    probs = np.load(out / "fold0" / "model" / "val_predictions.npz")["probabilities"]
    return summary, probs


METRICS = ("challenge_score", "challenge_score_tuned", "metrics", "metrics_tuned", "n_train", "n_val", "epochs")


@pytest.mark.slow
def test_on_device_training_gives_the_default_runs_results(compose: Callable, tmp_path: Path) -> None:
    """Identical batches (tests/data/test_datamodule.py) and no other change: the same weights,
    so the same validation probabilities bit for bit and the same summary; data.on_device is
    therefore a speed setting -- left out of the run's name and config digest."""
    from ecgtricks.runs import rundir

    default, p_default = _smoke(compose, tmp_path / "default")
    on_device, p_on_device = _smoke(compose, tmp_path / "on_device", "data.on_device=true")
    assert {k: on_device[k] for k in METRICS} == {k: default[k] for k in METRICS}
    np.testing.assert_array_equal(p_on_device, p_default)
    assert rundir.variant_name(["data.on_device=true"], None) == "default"
    assert on_device["config_hash"] == default["config_hash"]


U32 = float(np.finfo(np.float32).eps) / 2  # float32's unit roundoff, 2**-24


def _rounding_bound(net: torch.nn.Module, batch: int, length: int) -> float:
    """A first-order, norm-wise bound on the relative difference between two float32
    evaluations of ``net`` that sum in different orders (Higham, *Accuracy and Stability of
    Numerical Algorithms*, 3.1: a sum of K terms is off by at most K*u relative): each evaluation
    is within u * (the sum of every reduction's length) of the exact result, so the two are
    within twice that. Reductions: each conv or linear output sums fan-in = in/groups * kernel
    products; each batch norm sums batch * length values for its mean and variance. Normalised
    layers keep the amplification of earlier errors near one, which the bound assumes."""
    terms = 0
    for m in net.modules():
        if isinstance(m, torch.nn.Conv1d | torch.nn.Linear):
            terms += m.weight[0].numel()
        elif isinstance(m, torch.nn.BatchNorm1d):
            terms += batch * length
    return 2 * U32 * terms


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm((a - b).double()) / torch.linalg.vector_norm(b.double()))


@pytest.mark.slow
def test_one_compiled_step_equals_eager_within_float32_rounding(compose: Callable) -> None:
    """One forward and backward pass from the same weights and batch, where rounding cannot
    compound: logits, loss and every gradient within the float32 bound of the network's
    reductions (forward for logits and loss; forward and backward -- the transposed
    reductions, as long again -- for gradients). A wrong fusion is off by O(1), not O(u*K)."""
    from ecgtricks.training.fit import build_module

    cfg = compose("debug=smoke")
    torch.manual_seed(0)
    eager = build_module(cfg, [1] * 24)
    compiled = build_module(compose("debug=smoke", "trainer.compile=true"), [1] * 24)
    compiled.load_state_dict(eager.state_dict())
    (x, y, lengths), = _batches(1, batch=4, width=1000)
    out = {}
    for name, module in (("eager", eager), ("compiled", compiled)):
        module.train()
        module.zero_grad()
        features = (module._compiled_features or module.train_features)(x, lengths)
        logits = module.net.head(module.net.dropout(features))
        loss = module.criterion(logits, y)
        loss.backward()
        out[name] = (logits.detach(), loss.detach(), [p.grad.clone() for p in module.parameters()])
    bound = _rounding_bound(eager.net, 4, 1000)
    (logits_e, loss_e, grads_e), (logits_c, loss_c, grads_c) = out["eager"], out["compiled"]
    diffs = {"logits": _relative(logits_c, logits_e), "loss": _relative(loss_c, loss_e),
             "gradients": _relative(torch.cat([g.flatten() for g in grads_c]), torch.cat([g.flatten() for g in grads_e]))}
    print(f"\ncompiled vs eager, relative norm-wise difference on {torch.backends.cpu.get_cpu_capability()}: "
          + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()) + f"; bounds {bound:.2e} (forward), {2 * bound:.2e} (gradients)")
    assert diffs["logits"] <= bound and diffs["loss"] <= bound
    assert diffs["gradients"] <= 2 * bound
    assert bound < 0.05  # still a test: a wrong result would pass a bound of order one


@pytest.mark.slow
def test_two_compiled_epochs_end_near_the_eager_ones(compose: Callable, tmp_path: Path) -> None:
    """torch.compile fuses operations (other rounding), so results are close, not identical: a
    result setting, part of the run's name and config digest. Over epochs the rounding
    compounds by an amount that depends on the CPU's kernels, so the check is a ratio: the gap
    between compiled and eager probabilities is small beside what the eager run's second epoch
    moved them (the smoke network has no dropout and no mixup: rounding is the only difference)."""
    eager, p_eager = _smoke(compose, tmp_path / "eager")
    _, p_first = _smoke(compose, tmp_path / "first", "trainer.max_epochs=1")
    compiled, p_compiled = _smoke(compose, tmp_path / "compiled", "trainer.compile=true")
    gap, moved = np.linalg.norm(p_compiled - p_eager), np.linalg.norm(p_eager - p_first)
    print(f"\ntwo epochs: |compiled - eager| = {gap:.2e}, |eager epoch 2 - epoch 1| = {moved:.2e} (ratio {gap / moved:.2e})")
    assert gap < 0.1 * moved
    assert compiled["config_hash"] != eager["config_hash"]
    assert json.dumps(compiled["overrides"]) == '["trainer.compile=true"]'
