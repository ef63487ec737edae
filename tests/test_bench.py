"""`make bench` stays runnable: a quick pass over its data and metric sections."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_quick_pass_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--quick", "--records", "60",
         "--only", "data", "metrics", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["challenge_score, 4,300 x 24"]["value"] > 0
    keys = " ".join(results)
    assert "cache build, 2 process(es)" in keys and "reference: per-record loop" in keys
    assert "DataLoader epoch" in keys and "generator, 60 records" in keys


@pytest.mark.slow
def test_bench_loop_section_writes_both_loops_and_their_ratio(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench.py"), "--quick", "--only", "loop", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())
    bare, lightning = results["loop_bare_records_per_s"]["value"], results["loop_lightning_records_per_s"]["value"]
    assert bare > 0 and lightning > 0
    assert 0 < results["loop_lightning_over_bare"]["value"] < 10  # one pair in --quick: their ratio
    assert results["loop_lightning_over_bare"]["value"] == pytest.approx(lightning / bare)
