"""The training loop's own cost: the project's Lightning loop against a bare PyTorch loop.

Both train the same network (the project's ``ECGClassifier``, built from a composed ``train``
config) on the SAME pre-built batches held in memory (on the device), the same count at the
same batch size, after the same warm-up steps. What differs is the loop: Lightning with the
Trainer settings, callbacks and logger ``fit`` uses (``ecgtricks.training.fit``), against

    zero_grad -> forward -> loss -> backward -> optimizer.step (-> scheduler.step per step)

with the module's own training computation. With a tiny network the step is cheap, so what the
Lightning path adds per step (hooks, logging, progress bar, synchronisations) dominates.

Used by ``scripts/bench.py --only loop`` and ``scripts/gpu_check.sh``.
"""

from __future__ import annotations

import copy
import time
import warnings
from pathlib import Path
from typing import Any

#: The network of the loop figures: the paper's recipe (chunks, manifold mixup, warm-up +
#: cosine, the best-checkpoint callback) at a tiny width, so the host's share dominates.
TINY = ["experiment=dsail2020", "model.base_width=2", "model.width=1", "model.layers=[1,1,1,1]",
        "logger=csv"]


def compose(overrides: list[str]) -> Any:
    """The ``train`` config for ``overrides``, as ``python -m ecgtricks.train`` composes it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ecgtricks.runs import config  # noqa: F401 (registers the schema)
    from ecgtricks.utils.paths import config_dir

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return hydra_compose("train", overrides=overrides)


def now(device: str) -> float:
    """The clock, after the device has run everything queued (a GPU runs ahead of the host)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter()


def make_batches(n: int, batch: int, width: int, device: str, seed: int = 0,
                 leads: int = 12, classes: int = 24) -> list[tuple[Any, Any, Any]]:
    """``n`` training batches (signals, multi-hot targets, lengths) of random values, on ``device``."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        x = torch.randn(batch, leads, width, generator=gen)
        y = (torch.rand(batch, classes, generator=gen) < 0.1).float()
        y[:, 0] = 1.0  # every record has a scored label, as training records do
        lengths = torch.full((batch,), width, dtype=torch.int64)
        out.append((x.to(device), y.to(device), lengths.to(device)))
    return out


def build_module(cfg: Any, device: str) -> Any:
    """The LightningModule ``fit`` would build for ``cfg`` (class counts fixed), on ``device``."""
    import torch

    from ecgtricks.training import fit

    torch.manual_seed(int(cfg.seed))
    if not hasattr(fit, "build_module"):
        return _legacy_module(cfg).to(device)
    return fit.build_module(cfg, class_counts=[100] * 24).to(device)


def training_loss(module: Any, batch: tuple[Any, Any, Any]) -> Any:
    """The module's training computation, without Lightning."""
    if not hasattr(module, "training_loss"):
        return _legacy_training_loss(module, batch)
    return module.training_loss(*batch)


# The package before issue 22 (commit f954373) had no fit.build_module, fit.build_trainer or
# ECGClassifier.training_loss; these stand in for them, as that version's fit and training_step
# did the same, so this script also measures that version (the "before" figures of BENCHMARKS.md,
# "Training loop overhead (CPU)").


def _legacy_module(cfg: Any) -> Any:
    from ecgtricks.training.module import ECGClassifier
    from ecgtricks.utils.conf import as_dict

    return ECGClassifier(as_dict(cfg.model), as_dict(cfg.optim), num_classes=24, in_channels=len(cfg.data.leads),
                         loss=as_dict(cfg.loss), augment=as_dict(cfg.augment), input=as_dict(cfg.input),
                         class_counts=[100] * 24, threshold=cfg.postprocess.threshold)


def _legacy_training_loss(module: Any, batch: tuple[Any, Any, Any]) -> Any:
    from ecgtricks.training.mixup import mixup

    x, y, lengths = batch
    mode, alpha = module.augment["mixup"], float(module.augment.get("alpha", 0.2))
    if mode == "input":
        x, y = mixup(x, y, alpha)
        lengths = lengths.new_full(lengths.shape, x.shape[-1])
    features = module.train_features(x, lengths)
    if mode == "manifold":
        features, y = mixup(features, y, alpha)
    return module.criterion(module.net.head(module.net.dropout(features)), y)


def _legacy_trainer(cfg: Any, run_dir: Path, loggers: list, callbacks: list, **overrides: Any) -> Any:
    import pytorch_lightning as pl

    from ecgtricks.utils.conf import as_dict

    return pl.Trainer(**{**as_dict(cfg.trainer), **overrides}, default_root_dir=str(run_dir), logger=loggers,
                      callbacks=callbacks)


def bare_loop(cfg: Any, batches: list, warmup: int, device: str) -> dict[str, float]:
    """Records/s of the bare loop over ``batches[warmup:]`` (the first ``warmup`` steps untimed)."""
    import torch

    from ecgtricks.training import optim
    from ecgtricks.utils.conf import as_dict

    module = build_module(cfg, device)
    module.train()
    total = len(batches) * 1  # the schedule's length, as Lightning estimates it for one epoch
    configured = optim.configure(module, as_dict(cfg.optim), total)
    optimizer = configured["optimizer"]
    scheduler = configured.get("lr_scheduler", {})
    per_step = scheduler.get("scheduler") if scheduler.get("interval") == "step" else None
    autocast = device.startswith("cuda") and "bf16" in str(cfg.trainer.get("precision"))
    started, marks = None, []
    for i, batch in enumerate(batches):
        if i == warmup:
            started = now(device)
        if i >= warmup:
            marks.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = training_loss(module, batch)
        loss.backward()
        optimizer.step()
        if per_step is not None:
            per_step.step()
    seconds = now(device) - started
    return _rates(batches, warmup, seconds, [*marks, started + seconds])


def _rates(batches: list, warmup: int, seconds: float, marks: list[float]) -> dict[str, float]:
    """Records/s over the timed window, and at the median step (the time from one step's start
    to the next's): on a CPU the host runs every step to its end, so the median leaves out the
    steps another process interrupted; on a GPU only the window counts (the host runs ahead)."""
    import statistics

    records = sum(len(b[0]) for b in batches[warmup:])
    median = statistics.median(b - a for a, b in zip(marks, marks[1:], strict=False))
    return {"records_per_s": records / seconds, "seconds": seconds, "records": records,
            "median_records_per_s": len(batches[-1][0]) / median}


def lightning_loop(cfg: Any, batches: list, warmup: int, device: str, run_dir: Path) -> dict[str, float]:
    """Records/s of the project's Lightning loop over ``batches[warmup:]``: the module, Trainer,
    callbacks and logger of ``fit`` for ``cfg`` (one epoch; validation on one batch after it)."""
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader

    from ecgtricks.runs import rundir
    from ecgtricks.runs.config import instantiate_named
    from ecgtricks.training import fit

    class StepClock(pl.Callback):
        def __init__(self) -> None:
            self.started = self.ended = None
            self.marks: list[float] = []

        def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
            if batch_idx == warmup:
                self.started = now(device)
            if batch_idx >= warmup:
                self.marks.append(time.perf_counter())

        def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any, batch: Any,
                               batch_idx: int) -> None:
            if batch_idx == len(batches) - 1:
                self.ended = now(device)

    cfg = rundir.bind(cfg, run_dir)
    module = build_module(cfg, device)
    clock = StepClock()
    callbacks = [*instantiate_named(cfg.callbacks, "callbacks"), clock]
    loggers = instantiate_named(cfg.logger, "logger")
    build_trainer = getattr(fit, "build_trainer", _legacy_trainer)
    trainer = build_trainer(cfg, run_dir, loggers, callbacks, max_epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(module, train_dataloaders=DataLoader(batches, batch_size=None),
                    val_dataloaders=DataLoader(batches[:1], batch_size=None))
    seconds = clock.ended - clock.started
    return _rates(batches, warmup, seconds, [*clock.marks, clock.ended])


def compare(overrides: list[str], *, steps: int, warmup: int, batch: int, width: int, device: str,
            repeats: int, tmp: Path) -> dict[str, Any]:
    """Bare and Lightning loops alternated ``repeats`` times on the same batches: the median of
    each over the repeats, and the median of the repeats' ratios (each pair ran back to back,
    under the same load from other work on the machine). Records/s at the median step on a
    CPU, over the whole timed window on a GPU (see :func:`_rates`)."""
    import logging
    import statistics

    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    cfg = compose(overrides)
    batches = make_batches(warmup + steps, batch, width, device)
    runs: dict[str, list[float]] = {"bare": [], "lightning": []}
    key = "records_per_s" if device.startswith("cuda") else "median_records_per_s"
    for r in range(repeats):
        runs["bare"].append(bare_loop(copy.deepcopy(cfg), batches, warmup, device)[key])
        result = lightning_loop(copy.deepcopy(cfg), batches, warmup, device, tmp / f"lightning{r}" / "fold0")
        runs["lightning"].append(result[key])
    ratio = statistics.median(lit / bare for bare, lit in zip(runs["bare"], runs["lightning"], strict=True))
    return {"bare": statistics.median(runs["bare"]), "lightning": statistics.median(runs["lightning"]),
            "ratio": ratio, "runs": runs}
