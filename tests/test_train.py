"""End-to-end runs of the command line entry points on tiny data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.mark.slow
def test_train_on_shared_samples_writes_summary_and_resumes(tmp_path: Path, samples_dir: Path) -> None:
    args = ["-m", "ecgtricks.train", "debug=smoke", "data=folder", f"data.path={samples_dir}",
            f"output_root={tmp_path}", "fold=2"]
    first = run(args, tmp_path)
    from ecgtricks.runs.rundir import dataset_label

    run_dir = tmp_path / "baseline" / f"data.path={dataset_label(samples_dir)},data=folder,debug=smoke" / "fold2"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["fold"] == 2 and summary["epochs"] == 1 and summary["n_val"] > 0
    assert f"data.path={samples_dir}" in summary["overrides"]
    for key in ("challenge_score", "f_measure", "auroc", "wall_time_s"):
        assert key in summary
    assert -1.0 <= summary["challenge_score"] <= 1.0
    assert summary["train_records_per_s"] > 0
    # from the command to the first step (imports, config, cache, model) and one validation pass
    assert 0 < summary["first_step_s"] < summary["wall_time_s"] + 30 and 0 < summary["val_seconds"] < summary["wall_time_s"]
    assert set(summary["metrics"]) >= {"auroc", "auprc", "accuracy", "f_measure", "fbeta", "gbeta", "challenge_score"}
    preds = np.load(run_dir / "model" / "val_predictions.npz")
    assert preds["probabilities"].shape == (summary["n_val"], 24) == preds["labels"].shape
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert "challenge score" in first.stdout
    assert "skipping" in run(args, tmp_path).stdout  # finished with the same config
    (run_dir / "summary.json").unlink()  # as if killed before the end: resume from last.ckpt
    second = run(args, tmp_path)
    assert "resuming from" in second.stdout + second.stderr
    again = json.loads((run_dir / "summary.json").read_text())
    assert again["challenge_score"] == summary["challenge_score"]
    changed = run([*args, "seed=5"], tmp_path)  # another variant: another directory, trained
    assert "skipping" not in changed.stdout


@pytest.mark.slow
def test_train_default_dataset_fold3(tmp_path: Path) -> None:
    run(["-m", "ecgtricks.train", "debug=smoke", "fold=3", f"output_root={tmp_path}"], tmp_path)
    summary = json.loads((tmp_path / "baseline" / "debug=smoke" / "fold3" / "summary.json").read_text())
    assert summary["fold"] == 3 and "synthetic" in summary["cache"]


@pytest.mark.parametrize(
    ("override", "message"),
    [("fold=12", "fold=12 is outside 0..9"), ("data.path=/nonexistent/x", "is not a directory"),
     ("model.name=transformer", "model.name='transformer' is unknown"),
     ("model.kernel_size=0", "kernel_size and stride must be >= 1"),
     ("+model.kernal_size=5", "model.kernal_size is not an option of model=resnet1d"),
     ("model.radix=2", "radix does not apply to block='basic'"),
     ("input.chunk_stride=4096", "input.chunk_stride=4096 must be in 1..input.chunk_length=2048"),
     ("input.mode=chunks", "input.mode=chunks; Invalid value 'chunks', expected one of [crop, chunk]"),
     ("data.on_error=ignore", "Invalid value 'ignore', expected one of [skip, raise]"),
     ("optim.scheduler=cosine", "expected one of [plateau, warmup_cosine, one_cycle, none]"),
     ("batch_size=many", "Value 'many' of type 'str' could not be converted to Integer"),
     ("batch_size=0", "batch_size=0 must be >= 1"),
     ("preprocess.scale={type: scale, method: zscore}", "scaling method must be standard, minmax, robust or none")],
)
def test_user_errors_are_one_line(tmp_path: Path, override: str, message: str) -> None:
    proc = run(["-m", "ecgtricks.train", override, f"output_root={tmp_path}", "debug=smoke"], tmp_path, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert not list(tmp_path.rglob("*.ckpt"))  # failed before training


def test_unknown_keys_are_named(tmp_path: Path) -> None:
    proc = run(["-m", "ecgtricks.train", "model.kernal_size=5", f"output_root={tmp_path}"], tmp_path, check=False)
    assert proc.returncode == 2 and "Could not override 'model.kernal_size'" in proc.stderr


def test_prepare_builds_then_reuses(tmp_path: Path, samples_dir: Path) -> None:
    env = {"ECGTRICKS_CACHE": str(tmp_path / "cache")}
    args = ["-m", "ecgtricks.prepare", f"data.path={samples_dir}", "data.limit=12"]
    first = run(args, tmp_path, env)
    assert "12 records, 0 skipped, built in" in first.stdout and "records/s" in first.stdout
    assert "reused" in run(args, tmp_path, env).stdout


@pytest.mark.slow
def test_built_wheel_carries_configs_and_trains(tmp_path: Path, samples_dir: Path) -> None:
    dist = tmp_path / "dist"
    run(["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(REPO)], REPO)
    wheel = next(dist.glob("ecgtricks-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "ecgtricks/configs/train.yaml" in names and "ecgtricks/scoring/tables/weights_2020.csv" in names
    site = tmp_path / "site"
    run(["-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)], tmp_path)
    env = {"PYTHONPATH": str(site)}  # ahead of the editable install
    where = run(["-c", "import ecgtricks.utils.paths as p; print(p.config_dir())"], tmp_path, env).stdout.strip()
    assert where == str(site / "ecgtricks" / "configs")
    run(["-m", "ecgtricks.train", "debug=smoke", "data=folder", f"data.path={samples_dir}",
         f"output_root={tmp_path / 'out'}"], tmp_path, env)
    assert len(list((tmp_path / "out" / "baseline").glob("data.path=*,data=folder,debug=smoke/fold0/summary.json"))) == 1


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(tmp_path: Path) -> None:
    proc = run(["-m", "ecgtricks.train", "debug=smoke", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                "trainer.precision=32-true", "trainer.sync_batchnorm=false", "logger=csv", f"output_root={tmp_path}"], tmp_path)
    # rank 0 reports: one epoch line, one summary line
    assert proc.stdout.count("val challenge score") == 1 and proc.stdout.count("fold 0: challenge score") == 1
    (summary,) = tmp_path.rglob("summary.json")
    assert json.loads(summary.read_text())["epochs"] == 1
