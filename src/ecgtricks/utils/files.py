"""Writing files and directories atomically: never half-written, never built twice."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

# mkstemp creates files readable by the owner only; results are meant to be shared like any
# file the user writes, so they get the mode the umask gives (read once, at import).
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write via a temp file in the same directory and rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256sum(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def _finite(obj: Any) -> Any:
    """NaN and infinities become null: JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def atomic_write_json(path: str | Path, obj: Any) -> None:
    text = json.dumps(_finite(obj), indent=2, default=_jsonable, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove the temporary directories (``.NAME.tmp-HOST-PID``) that killed builders on this
    host left in ``folder``; those of live processes and of other hosts are kept."""
    import shutil
    import socket

    removed = []
    host = socket.gethostname()
    for path in folder.glob(".*.tmp-*"):
        owner = path.name.rsplit(".tmp-", 1)[1]
        owner_host, _, pid = owner.rpartition("-")
        if owner_host == host and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def built_once(final: Path, is_complete: Callable[[Path], bool] = Path.is_dir) -> Iterator[Path | None]:
    """Build the directory ``final`` once and atomically, however many processes race for it.

    Yields None when ``final`` is already complete, else a fresh temporary directory beside it to
    fill, renamed to ``final`` when the block succeeds and removed when it fails. One process
    builds under the file lock ``<final>.lock`` while the others wait, then find it complete.
    Leftovers of builders killed on this host (their temporary directories) are removed first,
    and an incomplete ``final`` is rebuilt.
    """
    import shutil
    import socket

    from filelock import FileLock

    if is_complete(final):
        yield None
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if is_complete(final):
            yield None
            return
        for path in remove_leftovers(final.parent):
            log.info("removed %s, left by a killed build", path)
        if final.exists():
            log.warning("removing incomplete %s", final)
            shutil.rmtree(final)
        tmp = final.parent / f".{final.name}.tmp-{socket.gethostname()}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            yield tmp
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
