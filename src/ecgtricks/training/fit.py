"""The fit of one fold: build the data module, the LightningModule, callbacks and loggers from
the config, train (resuming from ``last.ckpt``), then post-train -- keep the best weights when a
monitored checkpoint callback is configured, tune thresholds -- and summarise.

Writes into the run directory ``model/`` (a self-contained model directory with the fold's
validation probabilities and labels) and, last, ``summary.json``: validation metrics at the
decision threshold and with thresholds tuned on the same fold (optimistic: the report's
cross-fitted score is the honest estimate), wall time, throughput, the overrides and the
config digest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig

from ecgtricks.runs import rundir
from ecgtricks.runs.config import instantiate_named
from ecgtricks.utils.conf import as_dict

log = logging.getLogger("ecgtricks.train")


def fit(cfg: DictConfig, overrides: Sequence[str] = (), cache: Any = None) -> dict[str, Any]:
    """Fit on all folds but ``cfg.fold``, evaluate on it, and write the run's outputs into
    ``cfg.paths.run_dir`` (a config bound by :func:`ecgtricks.runs.rundir.bind`). ``cache``: an
    :class:`~ecgtricks.data.cache.ECGCache` built elsewhere (``scripts/gpu_check.py``) instead
    of the config's dataset."""
    import pytorch_lightning as pl
    import torch

    from ecgtricks.runs import tracking
    from ecgtricks.runs.modeldir import save_model_dir
    from ecgtricks.scoring import metrics
    from ecgtricks.scoring.editions import edition
    from ecgtricks.scoring.postprocess import apply_thresholds, tune_thresholds
    from ecgtricks.training.callbacks import Throughput
    from ecgtricks.training.module import ECGClassifier
    from ecgtricks.utils.files import atomic_write_json

    started = time.perf_counter()
    run_dir = Path(cfg.paths.run_dir)
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    year = int(cfg.data.edition)  # the classes, weights and scorer of the data's edition
    classes = list(edition(year).codes)
    datamodule = build_datamodule(cfg, cache)
    datamodule.setup()
    module = build_module(cfg, datamodule.targets[datamodule.train_idx].sum(axis=0).astype(int).tolist(),
                          fs=datamodule.cache.fs)
    callbacks = instantiate_named(cfg.callbacks, "callbacks")
    loggers = instantiate_named(cfg.logger, "logger")
    for logger in loggers:
        logger.log_hyperparams(as_dict(cfg))
    summary = None
    try:
        trainer = build_trainer(cfg, run_dir, loggers, callbacks)
        last = run_dir / "checkpoints" / "last.ckpt"
        resume = str(last) if last.is_file() and rundir.readable_checkpoint(last) else None
        if resume:
            log.info("resuming from %s", last)
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume)
        best = _best_checkpoint(callbacks)
        if best is not None:
            log.info("reloading the best checkpoint %s", best)
            module = ECGClassifier.load_from_checkpoint(best, map_location="cpu")
        changed = any(getattr(c, "revalidate", False) for c in callbacks)  # e.g. swa's batch-norm pass
        if best is not None or changed or not module.val_results:  # best weights, or a resumed finished run
            trainer.validate(module, datamodule=datamodule, verbose=False)
        probs, targets, scores = (module.val_results[k] for k in ("probabilities", "targets", "metrics"))
        tuned = tune_thresholds(targets, probs, candidates=str(cfg.postprocess.candidates), edition=year)
        tuned_scores = metrics.evaluate(targets, probs, apply_thresholds(probs, tuned), edition=year)
        default = np.full(len(classes), float(cfg.postprocess.threshold))
        thresholds = tuned if cfg.postprocess.tune_thresholds else default
        throughput = next((c for c in callbacks if isinstance(c, Throughput)), None)
        summary = {
            "name": cfg.name,
            "fold": int(cfg.fold),
            "challenge_score": scores["challenge_score"],
            "challenge_score_tuned": tuned_scores["challenge_score"],
            "f_measure": scores["f_measure"],
            "auroc": scores["auroc"],
            "metrics": scores,
            "metrics_tuned": tuned_scores,
            "threshold": float(cfg.postprocess.threshold),
            "thresholds_saved": "tuned" if cfg.postprocess.tune_thresholds else "default",
            "epochs": int(trainer.current_epoch),
            "checkpoint": "best" if best is not None else "last",
            "wall_time_s": time.perf_counter() - started,
            # The last epoch trained in this process (the first carries warm-up); null when resumed finished.
            "train_records_per_s": throughput.history[-1]["records_per_s"] if throughput and throughput.history else None,
            "first_step_s": throughput.first_step_s if throughput else None,
            "val_seconds": throughput.val_seconds[-1] if throughput and throughput.val_seconds else None,
            "n_train": int(len(datamodule.train_idx)),
            "n_val": int(len(datamodule.val_idx)),
            "seed": int(cfg.seed),  # runs differing only in seed are repetitions in the report
            "edition": year,
            "split": str(cfg.split.name),
            "held_out_source": datamodule.held_out,
            "n_parameters": int(sum(p.numel() for p in module.parameters())),
            "cache": str(datamodule.cache.directory),
            "overrides": list(overrides or []),
            "config_hash": rundir.config_hash(cfg),
        }
        if trainer.is_global_zero:  # DDP: the other replicas computed the same; rank 0 writes
            save_model_dir(
                run_dir / "model", module.net, as_dict(cfg), classes, thresholds,
                meta={
                    **{k: summary[k] for k in ("name", "fold", "challenge_score", "challenge_score_tuned")},
                    "fold_ensemble": bool(cfg.postprocess.fold_ensemble), "edition": year,
                },
                oof={
                    "probabilities": probs.astype(np.float32), "labels": targets,
                    "records": np.asarray([datamodule.cache.names[i] for i in datamodule.val_idx]),
                },
            )
            # summary.json last: a run directory with a summary is finished.
            atomic_write_json(run_dir / "summary.json", summary)
    finally:
        tracking.close(loggers, summary, dict(zip(classes, map(float, thresholds), strict=True))
                       if summary is not None else None)
    return summary


#: Keys of the ``trainer`` section that are the project's, not ``pytorch_lightning.Trainer``'s.
OWN_TRAINER_KEYS = ("compile",)


def build_datamodule(cfg: DictConfig, cache: Any = None) -> Any:
    """The fold's data module for ``cfg`` (``cache``: an :class:`ECGCache` built elsewhere)."""
    from ecgtricks.data.datamodule import ECGDataModule

    return ECGDataModule(
        cfg.data, cfg.preprocess, fold=cfg.fold, batch_size=cfg.batch_size,
        eval_batch_size=cfg.eval_batch_size, window_s=cfg.input.window_s, num_workers=cfg.num_workers,
        pin_memory=str(cfg.trainer.get("accelerator")) in ("gpu", "cuda"), seed=cfg.seed, split=str(cfg.split.name),
        split_file=cfg.split.file, on_device=bool(cfg.data.get("on_device", False)), cache=cache,
    )


def build_module(cfg: DictConfig, class_counts: list[int], fs: float | None = None) -> Any:
    """The LightningModule for ``cfg``; ``class_counts``: positives per class among the training
    records; ``fs``: the cache's sampling rate (test-time windows are given in seconds)."""
    from ecgtricks.models.windows import window_samples
    from ecgtricks.scoring.editions import edition
    from ecgtricks.training.module import ECGClassifier
    from ecgtricks.utils.errors import ConfigError

    tta = None
    if str(cfg.postprocess.tta) != "none":
        if fs is None:
            raise ConfigError("postprocess.tta needs the records' sampling rate: set preprocess.resample.fs")
        tta = window_samples(cfg.postprocess, fs)
    return ECGClassifier(
        as_dict(cfg.model), as_dict(cfg.optim), num_classes=edition(cfg.data.edition).n_classes, in_channels=len(cfg.data.leads),
        loss=as_dict(cfg.loss), augment=as_dict(cfg.augment), input=as_dict(cfg.input),
        class_counts=class_counts, threshold=cfg.postprocess.threshold,
        compile=bool(cfg.trainer.get("compile", False)), edition=int(cfg.data.edition), tta=tta, fs=fs,
    )


def build_trainer(cfg: DictConfig, run_dir: Path, loggers: list[Any], callbacks: list[Any], **overrides: Any) -> Any:
    """The Lightning Trainer of a run: the ``trainer`` section (less :data:`OWN_TRAINER_KEYS`)
    and ``overrides``. A progress bar, when on, redraws every ``log_every_n_steps`` steps (as
    the loggers write), not at every step: each redraw costs host time the GPU waits for."""
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ProgressBar, TQDMProgressBar

    kwargs = {k: v for k, v in as_dict(cfg.trainer).items() if k not in OWN_TRAINER_KEYS}
    kwargs.update(overrides)
    callbacks = list(callbacks)
    if kwargs.get("enable_progress_bar", True) and not any(isinstance(c, ProgressBar) for c in callbacks):
        callbacks.append(TQDMProgressBar(refresh_rate=max(1, int(kwargs.get("log_every_n_steps") or 50))))
    return pl.Trainer(**kwargs, default_root_dir=str(run_dir), logger=loggers, callbacks=callbacks,
                      plugins=_slurm_plugins())


def _slurm_plugins() -> list[Any] | None:
    """Under SLURM, Lightning's cluster environment without its auto-requeue: submitit requeues
    on the pre-timeout signal (``hydra/launcher=slurm``), so exactly one mechanism acts on it and
    no ``hpc_ckpt`` competes with ``last.ckpt``."""
    from lightning_fabric.plugins.environments import SLURMEnvironment

    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else None


def _best_checkpoint(callbacks: list[Any]) -> Path | None:
    """The file of a checkpoint callback that monitors a metric (e.g. the ``best_checkpoint``
    trick's), when it has written one: its weights are the ones kept."""
    from pytorch_lightning.callbacks import ModelCheckpoint

    for callback in callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.monitor:
            path = Path(callback.best_model_path) if callback.best_model_path else \
                Path(callback.dirpath) / f"{callback.filename}{callback.FILE_EXTENSION}"
            return path if path.is_file() else None
    return None
