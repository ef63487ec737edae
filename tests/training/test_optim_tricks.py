"""The three optimisation tricks (adamw, one_cycle, grad_clip): each changes exactly the object it
names, the neutral defaults build the old Adam + reduce-on-plateau, one-cycle follows its lr
shape, clipping bounds the gradient norm, and each trains for an epoch (baseline, dsail2020)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from torch import nn

from ecgtricks.runs import rundir
from ecgtricks.runs.recipes import resolve
from ecgtricks.training.fit import build_trainer, fit
from ecgtricks.training.optim import configure, parameter_groups

NEW = ["adamw", "one_cycle", "grad_clip"]


def _optim(cfg: Any) -> dict[str, Any]:
    return OmegaConf.to_container(cfg.optim, resolve=True)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))


def _steps(module: nn.Module, optimizer: torch.optim.Optimizer, n: int = 3) -> list[torch.Tensor]:
    """``n`` steps on a fixed batch; the parameters after."""
    x = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    for _ in range(n):
        optimizer.zero_grad()
        module(x).pow(2).mean().backward()
        optimizer.step()
    return [p.detach().clone() for p in module.parameters()]


# --------------------------------------------------------------------------- neutral defaults


def test_defaults_build_the_old_adam_and_plateau_bit_identically(compose) -> None:
    cfg = _optim(compose())
    assert cfg["optimizer"] == "adam" and cfg["scheduler"] == "plateau"
    net = _net()
    out = configure(net, cfg, total_steps=100)
    assert type(out["optimizer"]) is torch.optim.Adam  # AdamW subclasses Adam: exact type
    assert type(out["lr_scheduler"]["scheduler"]) is torch.optim.lr_scheduler.ReduceLROnPlateau
    assert out["lr_scheduler"]["monitor"] == "val/loss"
    new = _steps(net, out["optimizer"])
    old_net = _net()  # as configure built it before the tricks
    old = torch.optim.Adam(parameter_groups(old_net, cfg["weight_decay"], False), lr=cfg["lr"])
    for a, b in zip(new, _steps(old_net, old), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", NEW)
def test_each_trick_changes_only_what_it_names(name: str, compose) -> None:
    base, on = _optim(compose()), _optim(compose(f"+trick={name}"))
    out = configure(_net(), on, total_steps=50)
    opt, sched = out["optimizer"], out.get("lr_scheduler", {}).get("scheduler")
    assert type(opt) is (torch.optim.AdamW if name == "adamw" else torch.optim.Adam)
    assert type(sched) is (torch.optim.lr_scheduler.OneCycleLR if name == "one_cycle"
                           else torch.optim.lr_scheduler.ReduceLROnPlateau)
    expected = {"adamw": {"optimizer": "adamw", "weight_decay": 0.01},
                "one_cycle": {"scheduler": "one_cycle", "lr": 0.01}, "grad_clip": {}}[name]
    assert on == base | expected
    trainer = compose(f"+trick={name}").trainer
    assert ("gradient_clip_val" in trainer) == (name == "grad_clip")


# --------------------------------------------------------------------------- each trick's effect


def test_adamw_decay_is_decoupled_from_the_gradient(compose) -> None:
    cfg = _optim(compose("+trick=adamw"))
    w = nn.Parameter(torch.full((3,), 2.0))
    opt = configure(nn.ParameterList([w]), cfg, total_steps=10)["optimizer"]
    w.grad = torch.zeros(3)  # no gradient: AdamW still shrinks by lr * wd; Adam's L2 would move by ~lr
    opt.step()
    torch.testing.assert_close(w.detach(), torch.full((3,), 2.0 * (1 - cfg["lr"] * 0.01)))


def test_one_cycle_peaks_at_lr_after_pct_start_and_ends_near_zero(compose) -> None:
    cfg = _optim(compose("+trick=one_cycle"))
    total, lr, pct = 200, cfg["lr"], cfg["one_cycle_pct_start"]
    out = configure(_net(), cfg, total_steps=total)
    assert out["lr_scheduler"]["interval"] == "step"
    opt, sched = out["optimizer"], out["lr_scheduler"]["scheduler"]
    trace = []
    for _ in range(total):
        trace.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    peak = max(range(total), key=trace.__getitem__)
    assert trace[peak] == pytest.approx(lr) and abs(peak - (pct * total - 1)) <= 1
    assert trace[0] == pytest.approx(lr / 25)  # OneCycleLR's default div_factor
    assert trace[-1] == pytest.approx(lr / (25 * 1e4), abs=1e-7)  # div_factor * final_div_factor


class _Recording(torch.optim.SGD):
    """SGD that records the gradient norm Lightning leaves after its clipping (which runs inside
    the closure wrapper, after on_before_optimizer_step, so a callback would see it unclipped)."""

    norms: list[float]

    def step(self, closure: Any = None) -> Any:  # type: ignore[override]
        loss = closure() if closure is not None else None
        grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
        self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        super().step()
        return loss


class _Huge(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(4, 1)
        self.opt: _Recording | None = None

    def training_step(self, batch: Any, _: int) -> torch.Tensor:
        return (self.net(batch[0]) * 1e4).pow(2).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        self.opt = _Recording(self.parameters(), lr=1e-12)
        self.opt.norms = []
        return self.opt


def test_grad_clip_trainer_clips_the_gradient_norm_to_one(compose, tmp_path: Path) -> None:
    cfg = compose("+trick=grad_clip", "trainer.enable_progress_bar=false", "trainer.max_epochs=1")
    trainer = build_trainer(cfg, tmp_path, loggers=[], callbacks=[], enable_checkpointing=False)
    assert trainer.gradient_clip_val == 1.0 and trainer.gradient_clip_algorithm == "norm"
    data = torch.utils.data.TensorDataset(torch.randn(32, 4, generator=torch.Generator().manual_seed(2)))
    model = _Huge()
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=8))
    assert model.opt is not None and len(model.opt.norms) == 4
    assert all(n <= 1.0 + 1e-6 for n in model.opt.norms), model.opt.norms
    base = build_trainer(compose(), tmp_path / "base", loggers=[], callbacks=[], enable_checkpointing=False)
    assert base.gradient_clip_val is None


# --------------------------------------------------------------------------- one epoch each


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["baseline", "dsail2020"])
@pytest.mark.parametrize("name", NEW)
def test_one_epoch_with_each_optim_trick(name: str, experiment: str, tmp_path: Path, compose) -> None:
    overrides = [f"experiment={experiment}", f"+trick={name}"]
    cfg = compose(*overrides, "debug=smoke", "data.n_records=64", "data.limit=64", "seed=1")
    assert name in cfg.tricks and ("warmup_cosine" in cfg.tricks) == (experiment == "dsail2020")
    if name == "one_cycle":  # the later trick wins over the recipe's warmup_cosine
        assert cfg.optim.scheduler == "one_cycle"
    summary = fit(rundir.bind(resolve(cfg, overrides), tmp_path / "fold0"), overrides)
    assert summary["epochs"] == 1 and summary["n_val"] > 0
    assert -1.0 <= summary["challenge_score"] <= 1.0
    assert (tmp_path / "fold0" / "model" / "model.json").is_file()
