"""scripts/gpu_check.sh stays runnable: every part of the GPU check, on the CPU at tiny sizes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_runs_every_part_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu-check.json"
    proc = subprocess.run(
        [str(REPO / "scripts" / "gpu_check.sh"), "--device", "cpu", "--quick", "--budget", "900", "--out", str(out)],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
        env={**os.environ, "ECGTRICKS_CACHE": str(tmp_path / "cache")},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["bare_records_per_s"] > 0 and results["lightning_prebuilt_records_per_s"] > 0
    labels = ["fit, default loader", "fit, data.on_device", "2 packed runs (on_device), aggregate",
              "4 packed runs (on_device), aggregate", "fit, trainer.compile", "fit, on_device + compile"]
    assert list(results["fit"]) == labels
    for label in labels:
        assert results["fit"][label]["records_per_s"] > 0
        hours = results["projected_gpu_hours"][label]
        assert hours["2021 (88,253 records)"] > hours["2020 (43,101 records)"] > 0
    assert len(results["fit"][labels[3]]["each"]) == 4
    (backbone, rate), = results["backbones_records_per_s"].items()  # --quick: the first backbone
    assert backbone == "conv_transformer" and rate > 0
    for line in ("bare step", "Lightning loop", "projected GPU-hours"):
        assert line in proc.stdout
