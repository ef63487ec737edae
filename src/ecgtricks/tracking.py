"""Experiment trackers: W&B (offline without credentials or network), TensorBoard, CSV.

Every run also writes CSV logs. A W&B run's group is the experiment and its variant (the trick
combination), so the W&B UI aggregates a combination's folds into mean and spread.
"""

from __future__ import annotations

import logging
import netrc
import os
import socket
from pathlib import Path
from typing import Any

from ecgtricks.errors import ConfigError

log = logging.getLogger(__name__)


def wandb_mode(requested: str | None) -> str:
    """``requested``, else ``$WANDB_MODE``, else online only with credentials and a reachable server."""
    mode = requested or os.environ.get("WANDB_MODE")
    if mode:
        if mode not in ("online", "offline", "disabled", "dryrun", "run"):
            raise ConfigError(f"logger.mode={mode!r} must be online, offline or disabled")
        return mode
    if not _has_credentials():
        return "offline"
    try:
        socket.create_connection(("api.wandb.ai", 443), timeout=3).close()
    except OSError:
        return "offline"
    return "online"


def _has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def build_loggers(
    cfg: Any, run_dir: Path, *, group: str, job_type: str, tags: list[str], config: dict[str, Any]
) -> list[Any]:
    """The Lightning loggers of a run: CSV always, plus the configured tracker."""
    from pytorch_lightning.loggers import CSVLogger

    loggers: list[Any] = [CSVLogger(str(run_dir), name="logs", version="")]
    kind = str(cfg.kind)
    if kind == "csv":
        return loggers
    if kind == "tensorboard":
        from pytorch_lightning.loggers import TensorBoardLogger

        try:
            loggers.append(TensorBoardLogger(str(run_dir), name="tensorboard", version=""))
        except ModuleNotFoundError as exc:
            raise ConfigError("logger=tensorboard needs `pip install tensorboard`") from exc
        return loggers
    if kind != "wandb":
        raise ConfigError(f"logger.kind={kind!r} must be wandb, tensorboard or csv")
    from pytorch_lightning.loggers import WandbLogger

    mode = wandb_mode(cfg.get("mode"))
    if mode == "disabled":
        return loggers
    loggers.append(
        WandbLogger(
            project=str(cfg.project), entity=cfg.get("entity"), group=group, job_type=job_type, tags=tags,
            name=f"{group}/{job_type}", save_dir=str(run_dir), config=config, mode=mode,
        )
    )
    if mode in ("offline", "dryrun"):
        log.info("W&B is offline; upload later with: wandb sync %s", run_dir / "wandb" / "offline-run-*")
    return loggers


def log_final(loggers: list[Any], summary: dict[str, Any], thresholds: dict[str, float]) -> None:
    """The final summary and thresholds into W&B's run summary, then close the run."""
    from pytorch_lightning.loggers import WandbLogger

    for logger in loggers:
        if isinstance(logger, WandbLogger):
            run = logger.experiment
            run.summary.update({k: v for k, v in summary.items() if isinstance(v, (int, float, str))})
            run.summary.update({f"thresholds/{code}": value for code, value in thresholds.items()})
            run.finish()
