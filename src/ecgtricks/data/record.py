"""Reading one challenge record (``NAME.hea`` + ``NAME.mat``) into physical units."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtricks.data.header import UNIT_SCALE_TO_MV, Header, read_header
from ecgtricks.data.sources import SOURCES
from ecgtricks.utils.errors import RecordError

# Record-name prefixes of the challenge databases (longest first so "HR" wins over a bare "H").
SOURCE_PREFIXES: dict[str, str] = {
    "SYN": "Synthetic", "JS": "Chapman-Ningbo", **{s.prefix: s.title for s in SOURCES.values()},
}
# Directory names used by the challenge archives, lower-cased, without punctuation.
SOURCE_DIRECTORIES: dict[str, str] = {
    "cpsc2018": "CPSC", "cpsc": "CPSC", "training_cpsc": "CPSC",
    "cpsc2018extra": "CPSC-Extra", "cpscextra": "CPSC-Extra", "cpsc_extra": "CPSC-Extra", "china12lead": "CPSC-Extra",
    "stpetersburg": "INCART", "incart": "INCART", "stpetersburgincart": "INCART",
    "ptb": "PTB", "ptbxl": "PTB-XL", "georgia": "Georgia", "g12ec": "Georgia",
    "chapman": "Chapman-Ningbo", "chapmanshaoxing": "Chapman-Ningbo", "ningbo": "Chapman-Ningbo",
}

_MAT_V4_TYPES = {0: "<f8", 10: "<f4", 20: "<i4", 30: "<i2", 40: "<u2", 50: "<u1"}


@dataclass(frozen=True)
class Record:
    name: str
    path: Path  # without extension
    signal: np.ndarray  # float32, leads x samples, millivolts
    fs: float
    lead_names: tuple[str, ...]
    labels: tuple[str, ...]  # every SNOMED CT code of the header, scored or not
    age: float | None
    sex: str | None
    source: str


def infer_source(record_path: str | Path) -> str:
    """The database a record comes from: by its name prefix, else by a parent directory name."""
    path = Path(record_path)
    match = re.match(r"^([A-Za-z]+)\d", path.name)
    if match:
        prefix = match.group(1).upper()
        if prefix in SOURCE_PREFIXES:
            return SOURCE_PREFIXES[prefix]
    for parent in path.parents:
        key = re.sub(r"[^a-z0-9_]", "", parent.name.lower())
        if key in SOURCE_DIRECTORIES:
            return SOURCE_DIRECTORIES[key]
    return "unknown"


def _read_mat_digital(mat_path: Path) -> np.ndarray:
    """Digital samples (signals x samples) from a MATLAB v4 ``val`` matrix, else via scipy."""
    try:
        raw = mat_path.read_bytes()
    except FileNotFoundError:
        raise RecordError(mat_path, "signal file is missing") from None
    except OSError as exc:
        raise RecordError(mat_path, f"signal file cannot be read ({exc.strerror})") from None
    if len(raw) < 20:
        raise RecordError(mat_path, f"signal file is truncated ({len(raw)} bytes)")
    mopt, rows, cols, imag, name_len = np.frombuffer(raw, "<i4", count=5)
    dtype = _MAT_V4_TYPES.get(int(mopt))
    if dtype is None or imag or not (0 < name_len < 64) or rows < 0 or cols < 0:
        return _read_mat_scipy(mat_path)
    start = 20 + int(name_len)
    expected = start + int(rows) * int(cols) * np.dtype(dtype).itemsize
    if len(raw) < expected:
        raise RecordError(
            mat_path, f"signal file is truncated: {len(raw)} bytes, {expected} expected for {rows}x{cols}"
        )
    # MATLAB stores column-major: samples of all leads interleaved, one sample after another.
    data = np.frombuffer(raw, dtype, count=int(rows) * int(cols), offset=start)
    return data.reshape(int(cols), int(rows)).T


def _read_mat_scipy(mat_path: Path) -> np.ndarray:
    import scipy.io

    try:
        content = scipy.io.loadmat(mat_path)
    except Exception as exc:  # scipy raises many types for corrupt files
        raise RecordError(mat_path, f"signal file is not a readable MATLAB file ({exc})") from None
    if "val" not in content:
        raise RecordError(mat_path, "MATLAB file has no 'val' matrix")
    return np.asarray(content["val"])


def _to_physical(header: Header, digital: np.ndarray, mat_path: Path) -> np.ndarray:
    n_signals, n_samples = digital.shape
    if n_signals != header.n_signals:
        raise RecordError(
            mat_path, f"holds {n_signals} leads but the header declares {header.n_signals}"
        )
    if n_samples == 0:
        raise RecordError(mat_path, "signal is empty (zero samples)")
    if n_samples != header.n_samples:
        raise RecordError(
            mat_path, f"holds {n_samples} samples but the header declares {header.n_samples}"
        )
    specs = header.signals
    baseline = np.array([s.baseline for s in specs], dtype=np.float64)[:, None]
    scale = np.array(
        [UNIT_SCALE_TO_MV[s.units.lower()] / s.gain for s in specs]
    )[:, None]
    physical = ((digital.astype(np.float64) - baseline) * scale).astype(np.float32)
    if not np.isfinite(physical).all():
        bad = int((~np.isfinite(physical)).sum())
        raise RecordError(mat_path, f"signal has {bad} NaN or infinite samples")
    return physical


def read_record(path: str | Path) -> Record:
    """Read a challenge record; ``path`` is the record path without extension.

    Returns the signal in millivolts, ``(digital - baseline) / gain``, as float32.
    Raises ``RecordError`` naming the file and the problem for anything unreadable.
    """
    path = Path(path)
    if path.suffix in (".hea", ".mat"):
        path = path.with_suffix("")
    header = read_header(path.with_suffix(".hea"))
    file_names = {s.file_name for s in header.signals}
    if len(file_names) != 1:
        raise RecordError(path.with_suffix(".hea"), f"signals span several files: {sorted(file_names)}")
    mat_path = path.parent / file_names.pop()
    if mat_path.suffix.lower() != ".mat":
        raise RecordError(path.with_suffix(".hea"), f"signal file {mat_path.name!r} is not a .mat file")
    signal = _to_physical(header, _read_mat_digital(mat_path), mat_path)
    return Record(
        name=path.name,
        path=path,
        signal=signal,
        fs=header.fs,
        lead_names=header.lead_names,
        labels=header.labels,
        age=header.age,
        sex=header.sex,
        source=infer_source(path),
    )


def find_record_paths(root: str | Path) -> list[str]:
    """All record paths (without extension) below ``root`` as sorted strings, found by their
    headers: the reuse check of the 2021 corpus's 88,253 records in 0.2 s (a ``Path`` each would
    cost more than the walk)."""
    root = Path(root)
    if not root.is_dir():
        raise RecordError(root, "data directory does not exist")
    found: list[str] = []
    folders = [str(root)]
    while folders:  # scandir builds each entry's path in C: a third of os.walk's time here
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.name.endswith(".hea"):
                    found.append(entry.path[:-4])
                elif entry.is_dir():
                    folders.append(entry.path)
    found.sort()
    return found


def find_records(root: str | Path) -> list[Path]:
    """All record paths (without extension) below ``root``, sorted, found by their headers."""
    return [Path(p) for p in find_record_paths(root)]


def duplicate_names(records: list[Path]) -> dict[Path, Path]:
    """Records whose name an earlier record already has, each mapped to that earlier one.

    Names identify records in folds, caches and output files, so two folders holding the same
    name (a copied source, say) would silently mix them up.
    """
    first: dict[str, Path] = {}
    dups: dict[Path, Path] = {}
    for path in records:
        if path.name in first:
            dups[path] = first[path.name]
        else:
            first[path.name] = path
    return dups
