"""Experiment trackers, configured as named ``_target_`` entries of ``configs/logger``: W&B
(offline without credentials or network), TensorBoard, CSV (always, beside the others).

A W&B run's group is the experiment and its variant (the trick combination), so the W&B UI
aggregates a combination's folds into mean and spread; a failed run is closed as failed.
"""

from __future__ import annotations

import logging
import netrc
import os
import socket
from pathlib import Path
from typing import Any

from ecgtricks.utils.errors import ConfigError

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


def wandb_logger(
    *, project: str, save_dir: str, group: str, job_type: str, tags: Any = (), entity: str | None = None,
    mode: str | None = None, **kwargs: Any,
) -> Any:
    """A Lightning ``WandbLogger`` named ``group/job_type`` (None when W&B is disabled).

    The ``_target_`` of ``configs/logger/wandb.yaml``: the mode follows :func:`wandb_mode`, so a
    run without credentials or network logs offline into its directory.
    """
    from pytorch_lightning.loggers import WandbLogger

    mode = wandb_mode(mode)
    if mode == "disabled":
        return None
    logger = WandbLogger(project=project, entity=entity, group=group, job_type=job_type,
                         tags=sorted(str(t) for t in tags), name=f"{group}/{job_type}",
                         save_dir=save_dir, mode=mode, **kwargs)
    if mode in ("offline", "dryrun"):
        log.info("W&B is offline; upload later with: wandb sync %s", Path(save_dir) / "wandb" / "offline-run-*")
    return logger


def wandb_entry(loggers: dict[str, Any] | None) -> dict[str, Any] | None:
    """The logger entry whose ``_target_`` is :func:`wandb_logger` (None: the run did not use W&B)."""
    target = f"{__name__}.wandb_logger"
    return next((dict(e) for e in (loggers or {}).values()
                 if isinstance(e, dict) and e.get("_target_") == target), None)


def close(loggers: list[Any], summary: dict[str, Any] | None, thresholds: dict[str, float] | None = None) -> None:
    """Close the W&B runs: with the final summary and thresholds, or marked failed (no summary)."""
    from pytorch_lightning.loggers import WandbLogger

    for logger in loggers:
        if not isinstance(logger, WandbLogger) or logger._experiment is None:
            continue
        run = logger.experiment
        if summary is None:
            run.finish(exit_code=1)
            continue
        run.summary.update({k: v for k, v in summary.items() if isinstance(v, (int, float, str))})
        run.summary.update({f"thresholds/{code}": value for code, value in (thresholds or {}).items()})
        run.finish()
