"""Writing records in the challenge format (``NAME.hea`` + ``NAME.mat``), in the header dialects
the archives use: 2020 (``A0001 12 500 7500 12-May-2020 12:33:59``, ``16+24 1000/mV``, ``#Dx:``)
and the 2021 re-release (no date on the record line, ``16x1+24 1000.0(0)/mV``, ``# Dx:``).
PTB and PTB-XL spell the unit ``mv``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io

from ecgtricks.data.leads import STANDARD_LEADS


def write_record(
    path_without_ext: str | Path,
    signal_mv: np.ndarray,
    fs: float,
    labels: Sequence[str],
    age: float | None = None,
    sex: str | None = None,
    lead_names: Sequence[str] = STANDARD_LEADS,
    gain: float = 1000.0,
    *,
    dialect: str = "2020",
    unit: str = "mV",
    timestamp: str | None = None,
) -> int:
    """Write ``signal_mv`` (leads x samples, mV) as int16 ``val`` at ``gain`` adu/mV; returns the
    bytes written. The header is written last, through a temporary name, so a record whose
    ``.hea`` exists is whole."""
    path = Path(path_without_ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    signal = np.asarray(signal_mv, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[0] != len(lead_names):
        raise ValueError(f"signal must be {len(lead_names)} x samples, got {signal.shape}")
    digital = np.clip(np.round(signal * gain), -32768, 32767).astype(np.int16)
    scipy.io.savemat(path.with_suffix(".mat"), {"val": digital}, format="4")
    # WFDB checksum: the 16-bit signed sum of the samples.
    checksums = ((digital.astype(np.int64).sum(axis=1) + 32768) % 65536) - 32768
    name = path.name
    rate = int(fs) if float(fs).is_integer() else fs
    if dialect not in ("2020", "2021"):
        raise ValueError(f"dialect must be 2020 or 2021, got {dialect!r}")
    record_line = f"{name} {len(lead_names)} {rate} {digital.shape[1]}"
    if dialect == "2020":
        record_line += f" {timestamp}" if timestamp else ""
        fmt, adc, comment = "16+24", f"{int(gain) if float(gain).is_integer() else gain}/{unit}", "#"
    else:
        fmt, adc, comment = "16x1+24", f"{float(gain):.1f}(0)/{unit}", "# "
    lines = [record_line]
    for lead, first, checksum in zip(lead_names, digital[:, 0], checksums, strict=True):
        lines.append(f"{name}.mat {fmt} {adc} 16 0 {first} {checksum} 0 {lead}")
    age_text = "NaN" if age is None or age != age else str(int(round(age)))
    lines += [f"{comment}{key}: {value}" for key, value in (
        ("Age", age_text), ("Sex", sex or "Unknown"), ("Dx", ",".join(labels)),
        ("Rx", "Unknown"), ("Hx", "Unknown"), ("Sx", "Unknown"))]
    header = path.with_suffix(".hea")
    tmp = header.with_name(header.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(header)
    return header.stat().st_size + path.with_suffix(".mat").stat().st_size
