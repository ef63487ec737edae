"""Train one fold: ``python -m ecgtricks.train [experiment=...] [+trick=...] fold=K``.

Writes into the run directory: ``summary.json`` (validation metrics at threshold 0.5 and with
thresholds tuned on the fold, wall time, overrides), ``model/`` (a self-contained model
directory, see ``ecgtricks.modeldir``, with the validation probabilities and labels),
checkpoints and CSV logs. Re-running the same command resumes from the last checkpoint.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from ecgtricks import rundir
from ecgtricks.cli import user_errors
from ecgtricks.errors import ConfigError
from ecgtricks.io import atomic_write_bytes
from ecgtricks.paths import config_dir

log = logging.getLogger("ecgtricks.train")


def train(cfg: DictConfig, run_dir: Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Fit on all folds but ``cfg.fold``, evaluate on it, and write the run's outputs."""
    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.callbacks import ModelCheckpoint

    from ecgtricks import metrics
    from ecgtricks.data.datamodule import ECGDataModule
    from ecgtricks.io import atomic_write_json
    from ecgtricks.labels import SCORED_CLASSES
    from ecgtricks.modeldir import save_model_dir
    from ecgtricks.postprocess import apply_thresholds, tune_thresholds
    from ecgtricks.tracking import build_loggers, log_final
    from ecgtricks.training.module import ECGClassifier, EpochSeed, Throughput

    started = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    datamodule = ECGDataModule(
        cfg.data, cfg.preprocess, fold=int(cfg.fold), batch_size=int(cfg.batch_size),
        eval_batch_size=int(cfg.eval_batch_size), window_s=float(cfg.input.window_s),
        num_workers=int(cfg.num_workers), pin_memory=str(cfg.trainer.accelerator) in ("gpu", "cuda"), seed=int(cfg.seed),
        split=str(cfg.split.name),
    )
    datamodule.setup()

    def section(key: str) -> dict[str, Any]:
        return OmegaConf.to_container(cfg[key], resolve=True)

    module = ECGClassifier(
        section("model"), section("optim"), num_classes=len(SCORED_CLASSES), in_channels=len(cfg.data.leads),
        loss=section("loss"), augment=section("augment"), input=section("input"),
        class_counts=datamodule.targets[datamodule.train_idx].sum(axis=0).astype(int).tolist(),
    )
    checkpoints = run_dir / "checkpoints"
    keep_best = cfg.postprocess.checkpoint == "best"
    # last.ckpt after every epoch, for resuming (Lightning writes save_last only alongside a
    # top-k save, so it is a top-1 "latest" checkpoint of its own); best.ckpt when kept.
    callbacks = [
        ModelCheckpoint(dirpath=str(checkpoints), filename="last", save_top_k=1, monitor=None,
                        enable_version_counter=False),
        EpochSeed(int(cfg.seed)),
        throughput := Throughput(),
    ]
    if keep_best:
        callbacks.append(ModelCheckpoint(dirpath=str(checkpoints), filename="best", monitor="val/challenge_score",
                                         mode="max", save_top_k=1, enable_version_counter=False))
    loggers = build_loggers(
        cfg.logger, run_dir, group=f"{cfg.name}/{run_dir.parent.name}", job_type=f"fold-{int(cfg.fold)}",
        tags=sorted(cfg.tricks), config=OmegaConf.to_container(cfg, resolve=True),
    )
    trainer = pl.Trainer(
        **OmegaConf.to_container(cfg.trainer, resolve=True),
        default_root_dir=str(run_dir),
        logger=loggers,
        callbacks=callbacks,
    )
    last = checkpoints / "last.ckpt"
    resume = str(last) if last.is_file() and rundir.readable_checkpoint(last) else None
    if resume:
        log.info("resuming from %s", last)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume)
    epochs = int(trainer.current_epoch)
    best = checkpoints / "best.ckpt"
    if keep_best and best.is_file():
        log.info("reloading the best checkpoint %s", best)
        module = ECGClassifier.load_from_checkpoint(best, map_location="cpu")
        module.val_results = {}
    if not module.val_results:  # best weights, or a resumed finished run: predict the fold again
        trainer.validate(module, datamodule=datamodule, verbose=False)
    results = module.val_results
    probs, targets, scores = results["probabilities"], results["targets"], results["metrics"]
    tuned = tune_thresholds(targets, probs, candidates=str(cfg.postprocess.candidates))
    tuned_scores = metrics.evaluate(targets, probs, apply_thresholds(probs, tuned))
    default = np.full(len(SCORED_CLASSES), float(cfg.optim.threshold))
    thresholds = tuned if cfg.postprocess.tune_thresholds else default
    summary = {
        "name": cfg.name,
        "fold": int(cfg.fold),
        "challenge_score": scores["challenge_score"],
        "challenge_score_tuned": tuned_scores["challenge_score"],
        "f_measure": scores["f_measure"],
        "auroc": scores["auroc"],
        "metrics": scores,
        "metrics_tuned": tuned_scores,
        "threshold": float(cfg.optim.threshold),
        "thresholds_saved": "tuned" if cfg.postprocess.tune_thresholds else "default",
        "epochs": epochs,
        "checkpoint": str(cfg.postprocess.checkpoint),
        "wall_time_s": time.perf_counter() - started,
        # The last epoch trained in this process (the first carries warm-up); null when resumed finished.
        "train_records_per_s": throughput.history[-1]["records_per_s"] if throughput.history else None,
        "n_train": int(len(datamodule.train_idx)),
        "n_val": int(len(datamodule.val_idx)),
        "split": str(cfg.split.name),
        "held_out_source": datamodule.held_out,
        "n_parameters": int(sum(p.numel() for p in module.parameters())),
        "cache": str(datamodule.cache.directory),
        "overrides": list(overrides or []),
        "config_hash": rundir.config_hash(cfg),
    }
    if not trainer.is_global_zero:  # DDP: the other replicas computed the same; rank 0 writes
        return summary
    save_model_dir(
        run_dir / "model", module.net, OmegaConf.to_container(cfg, resolve=True), SCORED_CLASSES,
        thresholds,
        meta={
            **{k: summary[k] for k in ("name", "fold", "challenge_score", "challenge_score_tuned")},
            "fold_ensemble": bool(cfg.postprocess.fold_ensemble),
        },
        oof={
            "probabilities": probs.astype(np.float32), "labels": targets,
            "records": np.asarray([datamodule.cache.names[i] for i in datamodule.val_idx]),
        },
    )
    # summary.json last: a run directory with a summary is finished.
    atomic_write_json(run_dir / "summary.json", summary)
    log_final(loggers, summary, dict(zip(SCORED_CLASSES, map(float, thresholds), strict=True)))
    return summary


def available_tricks() -> list[str]:
    return sorted(p.stem for p in (config_dir() / "trick").glob("*.yaml"))


def validate_config(cfg: DictConfig) -> None:
    """Cheap checks before any data is touched."""
    from ecgtricks.models import available_models

    if cfg.model.name not in available_models():
        raise ConfigError(f"model.name={cfg.model.name!r} is unknown; available: {available_models()}")
    n_folds = int(cfg.data.n_folds)
    if cfg.split.name == "kfold" and not 0 <= int(cfg.fold) < n_folds:
        raise ConfigError(f"fold={cfg.fold} is outside 0..{n_folds - 1} (data.n_folds={n_folds})")
    if float(cfg.input.window_s) <= 0:
        raise ConfigError(f"input.window_s must be positive, got {cfg.input.window_s}")
    if int(cfg.input.chunk_stride) > int(cfg.input.chunk_length) or int(cfg.input.chunk_stride) < 1:
        raise ConfigError(
            f"input.chunk_stride={cfg.input.chunk_stride} must be in 1..input.chunk_length={cfg.input.chunk_length}"
        )
    choices = {
        "input.mode": ("crop", "chunk"), "augment.mixup": ("none", "input", "manifold"),
        "data.on_error": ("skip", "raise"), "postprocess.checkpoint": ("last", "best"),
        "optim.scheduler": ("plateau", "warmup_cosine", "none"), "split.name": ("kfold", "leave_one_source_out"), "postprocess.candidates": ("grid", "distinct"),
    }
    for key, allowed in choices.items():
        value = OmegaConf.select(cfg, key)
        if value not in allowed:
            raise ConfigError(f"{key}={value!r} is not one of {list(allowed)}")
    for key in ("batch_size", "eval_batch_size", "trainer.max_epochs", "data.n_folds"):
        if int(OmegaConf.select(cfg, key)) < 1:
            raise ConfigError(f"{key}={OmegaConf.select(cfg, key)} must be >= 1")
    if not 0 <= float(cfg.model.dropout) < 1:
        raise ConfigError(f"model.dropout={cfg.model.dropout} must be in [0, 1)")
    # Building the network and the preprocessing checks every option of both in milliseconds.
    from ecgtricks.data.preprocess import build_pipeline
    from ecgtricks.labels import SCORED_CLASSES
    from ecgtricks.models import create_model

    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    create_model(model_cfg.pop("name"), in_channels=len(cfg.data.leads), num_classes=len(SCORED_CLASSES), **model_cfg)
    build_pipeline(OmegaConf.to_container(cfg.preprocess, resolve=True))


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    return [str(v) for v in value]


def compose_without(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """The same run with the tricks named in ``without`` left out of those in effect.

    Hydra cannot delete one entry of a defaults list, so the config is composed again with
    the remaining tricks as the ``trick`` selection (replacing an experiment's list, or added
    with ``+trick`` when no experiment lists tricks).
    """
    from hydra import compose
    from hydra.errors import ConfigCompositionException

    drop = _names(cfg.without)
    in_effect = list(cfg.tricks)
    unknown = [t for t in drop if t not in in_effect]
    if unknown:
        raise ConfigError(f"without={unknown}: not in effect; tricks in effect: {in_effect}")
    keep = ",".join(t for t in in_effect if t not in drop)
    base = [o for o in overrides if not re.match(r"^[+~]*(trick|without)=", o)]
    try:
        return compose("train", overrides=[*base, f"trick=[{keep}]"])
    except ConfigCompositionException:
        return compose("train", overrides=[*base, f"+trick=[{keep}]"])


def run(cfg: DictConfig, overrides: list[str], run_dir: Path) -> float:
    """One job: check the config, then, holding the run directory, skip it when finished with
    the same config, refuse it when finished with another (:mod:`ecgtricks.rundir`), else train."""
    known = available_tricks()
    typos = [t for t in [*_names(cfg.without), *cfg.tricks] if t not in known]
    if typos:
        raise ConfigError(f"unknown trick(s) {typos}; valid tricks: {known}")
    if cfg.without:
        cfg = compose_without(cfg, overrides)
    validate_config(cfg)
    digest = rundir.config_hash(cfg)
    with rundir.claim(run_dir):
        done = rundir.check(run_dir, digest, force=bool(cfg.force))
        with rundir.run_log(run_dir):
            if done is not None:
                message = f"skipping {run_dir}: finished with the same config (force=true to train again)"
                log.info(message)
                print(message)
                return float(done["challenge_score"])
            (run_dir / "error.txt").unlink(missing_ok=True)
            rundir.record_config(run_dir, cfg, overrides)
            summary = train(cfg, run_dir, overrides)
    from pytorch_lightning.utilities import rank_zero_only

    if rank_zero_only.rank != 0:  # DDP replicas: rank 0 reports
        return float(summary["challenge_score"])
    print(
        f"fold {summary['fold']}: challenge score {summary['challenge_score']:.4f} "
        f"(threshold {summary['threshold']}; {summary['challenge_score_tuned']:.4f} tuned), macro F1 {summary['f_measure']:.4f}, "
        f"macro AUROC {summary['auroc']:.4f}, {summary['epochs']} epochs, "
        f"{summary['wall_time_s']:.1f} s -> {run_dir / 'summary.json'}"
    )
    return float(summary["challenge_score"])


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
@user_errors
def main(cfg: DictConfig) -> float:
    hydra_cfg = HydraConfig.get()
    overrides = list(hydra_cfg.overrides.task)
    run_dir = Path(hydra_cfg.runtime.output_dir)
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return run(cfg, overrides, run_dir)
    n_jobs = OmegaConf.select(hydra_cfg, "launcher.n_jobs", default=None)
    if cfg.threads is None and n_jobs:  # parallel local jobs share the cores
        import os

        import torch

        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // (cores if n_jobs < 0 else int(n_jobs))))
    try:
        return run(cfg, overrides, run_dir)
    except (rundir.RunInProgress, rundir.RunConflict) as exc:
        # Not this job's directory to write in: say so, leave no error.txt there, go on.
        status = "IN PROGRESS" if isinstance(exc, rundir.RunInProgress) else "REFUSED"
        log.warning("%s", exc)
        print(f"{status}: {exc}", file=sys.stderr)
        return float("nan")
    except Exception:
        # One failed job must not stop a sweep: record why, and let the others run.
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(run_dir / "error.txt", traceback.format_exc().encode())
        log.error("run %s failed; see %s", run_dir, run_dir / "error.txt")
        print(f"FAILED {run_dir}: see {run_dir / 'error.txt'}", file=sys.stderr)
        return float("nan")


if __name__ == "__main__":
    main()
