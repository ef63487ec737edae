"""The run directory: where a run's results live, what identifies them, and the rules that keep
them safe.

Layout: ``<output_root>/<experiment>/<variant>/fold<k>/``. The variant names the command-line
overrides that change the result, sorted and joined by commas (``default`` when none do); a
dataset other than the built-in one is always named, as ``data.path=<folder>-<digest>`` where the
digest is 8 hex digits of the folder's absolute path, so two datasets never share a directory.
:data:`NON_RESULT_KEYS` are left out of both the variant and :func:`config_hash`: one list, so the
two cannot drift apart.

Rules, enforced by :func:`claim` and :func:`check`:

* One process at a time: a run directory is claimed with an advisory lock on ``.lock`` (the
  kernel releases it when its process dies, so a later run takes over); a second process gets
  :class:`RunInProgress`, naming the holder, before anything in the directory is touched.
* A finished run (``summary.json``) of another config is never deleted or overwritten:
  :class:`RunConflict` names the directory and both config digests (``force=true`` replaces it,
  or another ``output_root`` keeps both). One of the same config is skipped.
* An interrupted run of the same config resumes from ``checkpoints/last.ckpt``; one of another
  config is set aside into ``stale-<digest>/``, never resumed and never deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ecgtricks.utils.errors import ECGTricksError

log = logging.getLogger(__name__)

# Keys whose value does not change a run's result (where it is written, how fast, how it is
# shown): left out of the variant name and of the config hash. A key covers its sub-keys.
NON_RESULT_KEYS = (
    "output_root", "num_workers", "threads", "force", "logger", "paths",
    "trainer.enable_progress_bar", "data.cache_dir", "data.workers",
    "data.on_device",  # identical batches, identical results (tests/training/test_loop.py)
)
# Keys that change the result but are named elsewhere in the path (or by the dataset label).
PATH_KEYS = ("experiment", "fold", "data.path")

LOCK, STAMP, SUMMARY, CHECKPOINTS = ".lock", "config_hash.txt", "summary.json", "checkpoints"


class RunInProgress(ECGTricksError):
    """Another live process holds the run directory."""


class RunConflict(ECGTricksError):
    """The run directory holds a finished run of another config."""


def _covered(key: str, keys: Sequence[str]) -> bool:
    return any(key == k or key.startswith(k + ".") for k in keys)


def is_result_key(key: str) -> bool:
    """Whether an override of ``key`` (no ``+``/``~`` prefix) can change a run's result."""
    return not _covered(key, NON_RESULT_KEYS)


def dataset_label(path: str | os.PathLike[str]) -> str:
    """``<folder name>-<8 hex digits of the absolute path>``: readable, and distinct per folder."""
    resolved = Path(str(path)).expanduser().resolve()
    return f"{resolved.name}-{hashlib.sha256(str(resolved).encode()).hexdigest()[:8]}"


def variant_name(overrides: Sequence[str], data_path: str | None) -> str:
    """The variant directory of a run from its command-line overrides (Hydra's task overrides).

    Overrides of :data:`NON_RESULT_KEYS` and :data:`PATH_KEYS` are dropped; the dataset label is
    added whenever ``data.path`` is set; ``/`` (not allowed in a name) becomes ``_``.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides([str(o) for o in overrides])
    items = [
        o.input_line for o in parsed
        if is_result_key(o.key_or_group) and not _covered(o.key_or_group, PATH_KEYS)
    ]
    if data_path:
        items.append(f"data.path={dataset_label(data_path)}")
    return _fit_name(",".join(sorted(items)).replace("/", "_") or "default")


MAX_NAME = 255  # bytes: NAME_MAX; a name that fits stays as it always was (finished runs are found)


def _fit_name(name: str) -> str:
    """``name`` itself when a file system takes it; else its start, ``~`` and a digest of the
    whole -- the ``seed=`` override kept, so that the repetitions of a variant still share
    their name without it (the report pools them so)."""
    if len(name.encode()) <= MAX_NAME:
        return name
    tokens = re.split(r",(?![^\[]*\])", name)
    seed = [t for t in tokens if t.startswith("seed=")]
    rest = ",".join(t for t in tokens if not t.startswith("seed="))
    digest = hashlib.sha256(rest.encode()).hexdigest()[:12]
    keep = MAX_NAME - len(digest) - 1 - sum(len(t.encode()) + 1 for t in seed)
    head = rest.encode()[:keep].decode(errors="ignore")
    return ",".join([f"{head}~{digest}", *seed])


def config_hash(cfg: DictConfig) -> str:
    """A digest of the resolved config minus :data:`NON_RESULT_KEYS`; ``data.path`` counts as
    its absolute path, so the same folder named two ways is the same run, and the run's own
    paths (interpolated into callbacks) count as placeholders."""
    cfg = cfg.copy()
    cfg.paths.run_dir, cfg.paths.variant = "<run_dir>", "<variant>"
    resolved = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    for key in NON_RESULT_KEYS:
        *parents, leaf = key.split(".")
        section = resolved
        for parent in parents:
            section = section.get(parent) or {}
        section.pop(leaf, None)
    data = resolved.get("data") or {}
    if data.get("path"):
        data["path"] = str(Path(str(data["path"])).expanduser().resolve())
    return hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()[:16]


def is_global_zero() -> bool:
    """Whether this process is rank 0 of a distributed launch (or not distributed at all):
    the other replicas of a DDP run share the directory that rank 0 claimed."""
    return all(os.environ.get(var, "0") == "0" for var in ("RANK", "LOCAL_RANK", "SLURM_PROCID"))


@contextlib.contextmanager
def claim(run_dir: Path) -> Iterator[None]:
    """Hold ``run_dir`` for this process; :class:`RunInProgress` when a live process holds it."""
    if not is_global_zero():
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / LOCK, "a+")  # noqa: SIM115 (held open for the lock's lifetime)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunInProgress(
                f"{run_dir} is being trained by {holder}; not touching it (run again once it "
                "has finished, or stop that process)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()} since "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def finished(run_dir: Path, cfg: DictConfig) -> dict[str, Any] | None:
    """The summary of a finished run of this very config in ``run_dir``, read without claiming it
    (a quick look before work; :func:`run_once` decides under the lock)."""
    summary_path = run_dir / SUMMARY
    if cfg.force or not summary_path.is_file():
        return None
    try:
        summary = json.loads(summary_path.read_text())
    except ValueError:
        return None
    return summary if summary.get("config_hash") == config_hash(cfg) else None


def say_skipped(run_dir: Path, *, log_file: bool = True) -> str:
    """Print (and append to the run's ``train.log``) that a finished run is skipped."""
    import time

    message = f"skipping {run_dir}: finished with the same config (force=true to train again)"
    print(message)
    if log_file:
        with open(run_dir / "train.log", "a") as handle:
            handle.write(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}][{__name__}][INFO] - {message}\n")
    return message


def check(run_dir: Path, digest: str, *, force: bool = False) -> dict[str, Any] | None:
    """Apply the directory rules for a run of config ``digest``; call while holding :func:`claim`.

    Returns the summary of a finished run of the same config (to skip), else None after
    stamping the directory with ``digest``. ``force`` removes a finished run first.
    """
    summary_path = run_dir / SUMMARY
    if force:
        import shutil

        shutil.rmtree(run_dir / CHECKPOINTS, ignore_errors=True)
        summary_path.unlink(missing_ok=True)
    summary = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    if summary is not None:
        if summary.get("config_hash") == digest:
            return summary
        raise RunConflict(
            f"{run_dir} holds a finished run of config {summary.get('config_hash') or 'unknown'}, "
            f"not this one ({digest}); not overwriting it: pass force=true to replace it, or "
            "output_root=... to keep both"
        )
    stamp = run_dir / STAMP
    previous = stamp.read_text().strip() if stamp.is_file() else None
    if previous and previous != digest:
        aside = run_dir / f"stale-{previous}"
        log.warning("%s holds an interrupted run of config %s: set aside in %s, training afresh",
                    run_dir, previous, aside)
        for name in (CHECKPOINTS, "model"):
            if (run_dir / name).exists():
                aside.mkdir(exist_ok=True)
                (run_dir / name).replace(aside / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return None


def bind(cfg: DictConfig, run_dir: Path) -> DictConfig:
    """``cfg`` with ``paths`` set to this run's directory (callbacks and loggers write there)."""
    cfg = cfg.copy()
    cfg.paths.run_dir, cfg.paths.variant = str(run_dir), run_dir.parent.name
    return cfg


def run_once(
    run_dir: Path, cfg: DictConfig, overrides: Sequence[str],
    fit: Callable[[DictConfig, Sequence[str]], dict[str, Any]],
) -> tuple[dict[str, Any], bool]:
    """Run ``fit(bound config, overrides)`` under the directory's rules: ``(summary, skipped)``.

    Claims the directory (:class:`RunInProgress`), applies :func:`check` (a finished run of the
    same config is skipped, one of another refused with :class:`RunConflict`), then logs to its
    ``train.log``, records the config and fits. DDP replicas other than rank 0 only fit.
    """
    digest = config_hash(cfg)
    with claim(run_dir):
        done = check(run_dir, digest, force=bool(cfg.force)) if is_global_zero() else None
        with run_log(run_dir):
            if done is not None:
                log.info(say_skipped(run_dir, log_file=False))
                return done, True
            bound = bind(cfg, run_dir)
            if is_global_zero():
                (run_dir / "error.txt").unlink(missing_ok=True)
                record_config(run_dir, bound, overrides)
            return fit(bound, overrides), False


def readable_checkpoint(path: Path) -> bool:
    """Whether a checkpoint loads; one cut short by a kill mid-write is set aside, not resumed."""
    import torch

    try:
        torch.load(path, map_location="cpu", weights_only=False)
        return True
    except Exception as exc:  # torch raises many types for a truncated file
        log.warning("checkpoint %s is unreadable (%s): training afresh", path, type(exc).__name__)
        path.replace(path.with_name(path.name + ".corrupt"))
        return False


def record_config(run_dir: Path, cfg: DictConfig, overrides: Sequence[str]) -> None:
    """Write the run's config and overrides into ``.hydra/``, where Hydra users look for them
    (Hydra's own writing is off: it would happen before :func:`claim` and :func:`check`)."""
    from ecgtricks.utils.files import atomic_write_bytes

    atomic_write_bytes(run_dir / ".hydra" / "config.yaml", OmegaConf.to_yaml(cfg, resolve=False).encode())
    atomic_write_bytes(run_dir / ".hydra" / "overrides.yaml",
                       OmegaConf.to_yaml(OmegaConf.create(list(overrides))).encode())


@contextlib.contextmanager
def run_log(run_dir: Path) -> Iterator[None]:
    """Log to ``run_dir/train.log`` for the duration (a sweep worker runs several jobs)."""
    handler = logging.FileHandler(run_dir / "train.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
