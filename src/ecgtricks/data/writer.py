"""Writing records in the challenge format (``NAME.hea`` + ``NAME.mat``), as CPSC's are written."""

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
) -> None:
    """Write ``signal_mv`` (leads x samples, mV) as int16 ``val`` at ``gain`` adu/mV."""
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
    lines = [f"{name} {len(lead_names)} {rate} {digital.shape[1]}"]
    for lead, first, checksum in zip(lead_names, digital[:, 0], checksums, strict=True):
        g = int(gain) if float(gain).is_integer() else gain
        lines.append(f"{name}.mat 16+24 {g}/mV 16 0 {first} {checksum} 0 {lead}")
    lines += [
        f"#Age: {'NaN' if age is None else int(round(age))}",
        f"#Sex: {sex or 'Unknown'}",
        f"#Dx: {','.join(labels)}",
        "#Rx: Unknown",
        "#Hx: Unknown",
        "#Sx: Unknown",
    ]
    path.with_suffix(".hea").write_text("\n".join(lines) + "\n")
