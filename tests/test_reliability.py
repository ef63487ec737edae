"""Faults injected on purpose: broken records through every CLI, header fuzzing, kill -9 and
resume, concurrent cache builds, atomic writes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecgtricks.data.header import parse_header
from ecgtricks.utils.errors import ECGTricksError

SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "challenge-samples"
BROKEN = {  # record name -> the problem its one-line error must name
    "X_trunc": "truncated",
    "X_missing": "signal file is missing",
    "X_lead13": "holds 12 leads but the header declares 13",
    "X_garbage": "record line",
    "X_gain": "gain",
    "X_rate": "not a number",
    "X_empty": "zero",
    "X_nan": "NaN",
}


def run(module: str, *args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})})


def _copy(samples: Path, name: str, dest: Path, new: str) -> tuple[Path, Path]:
    """A shared record under a new name (record line and signal file names rewritten)."""
    lines = (samples / f"{name}.hea").read_text().splitlines()
    first = lines[0].split()
    n = int(first[1])
    first[0] = new
    lines[0] = " ".join(first)
    for i in range(1, 1 + n):
        fields = lines[i].split()
        fields[0] = f"{new}.mat"
        lines[i] = " ".join(fields)
    hea, mat = dest / f"{new}.hea", dest / f"{new}.mat"
    hea.write_text("\n".join(lines) + "\n")
    shutil.copy(samples / f"{name}.mat", mat)
    return hea, mat


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not SAMPLES.is_dir():
        pytest.skip(f"shared challenge samples not found at {SAMPLES}")
    root = tmp_path_factory.mktemp("corpus")
    good = sorted(p.stem for p in SAMPLES.glob("A*.hea"))[:14]  # CPSC records, 500 Hz, 12 leads
    for name in good:
        _copy(SAMPLES, name, root, name)
    src = good[0]
    hea, mat = _copy(SAMPLES, src, root, "X_trunc")
    mat.write_bytes(mat.read_bytes()[:500])
    hea, mat = _copy(SAMPLES, src, root, "X_missing")
    mat.unlink()
    hea, _ = _copy(SAMPLES, src, root, "X_lead13")
    lines = hea.read_text().splitlines()
    first = lines[0].split()
    first[1] = "13"
    lines[0] = " ".join(first)
    lines.insert(13, lines[12])
    hea.write_text("\n".join(lines) + "\n")
    hea, _ = _copy(SAMPLES, src, root, "X_garbage")
    hea.write_text("%%garbage%%\n" + "\n".join(hea.read_text().splitlines()[1:]) + "\n")
    hea, _ = _copy(SAMPLES, src, root, "X_gain")
    lines = hea.read_text().splitlines()
    fields = lines[1].split()
    fields[2] = "abc/mV"
    lines[1] = " ".join(fields)
    hea.write_text("\n".join(lines) + "\n")
    hea, _ = _copy(SAMPLES, src, root, "X_rate")
    lines = hea.read_text().splitlines()
    first = lines[0].split()
    first[2] = "fivehundred"
    lines[0] = " ".join(first)
    hea.write_text("\n".join(lines) + "\n")
    hea, mat = _copy(SAMPLES, src, root, "X_empty")
    lines = hea.read_text().splitlines()
    first = lines[0].split()
    first[3] = "0"
    lines[0] = " ".join(first)
    hea.write_text("\n".join(lines) + "\n")
    scipy.io.savemat(mat, {"val": np.zeros((12, 0), np.int16)}, format="4")
    hea, mat = _copy(SAMPLES, src, root, "X_nan")
    val = scipy.io.loadmat(mat)["val"].astype(np.float64)
    val[3, 100] = np.nan
    scipy.io.savemat(mat, {"val": val}, format="4")
    for name, dx in (("X_unknowndx", "# Dx: 999999999"), ("X_emptydx", "# Dx:")):
        hea, _ = _copy(SAMPLES, good[1], root, name)
        lines = [dx if line.lstrip("#").strip().lower().startswith("dx") else line for line in hea.read_text().splitlines()]
        hea.write_text("\n".join(lines) + "\n")
    (root / "copy").mkdir()
    _copy(SAMPLES, good[2], root / "copy", good[2])  # the same name in a second folder
    return root


def test_prepare_skips_and_lists_every_broken_record_or_stops_at_the_first(corpus: Path, tmp_path: Path) -> None:
    env = {"ECGTRICKS_CACHE": str(tmp_path)}
    proc = run("ecgtricks.prepare", f"data.path={corpus}", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    (skipped_file,) = tmp_path.rglob("skipped.json")
    skipped = {Path(s["record"]).name: s for s in json.loads(skipped_file.read_text())}
    assert set(skipped) == {*BROKEN, sorted(os.listdir(corpus / "copy"))[0][:-4]}
    for name, problem in BROKEN.items():
        assert problem in skipped[name]["problem"], (name, skipped[name])
        assert name in skipped[name]["file"]
    dup = next(s for n, s in skipped.items() if n not in BROKEN)
    assert "duplicate record name" in dup["problem"] and str(corpus) in dup["problem"]
    manifest = json.loads(next(tmp_path.rglob("manifest.json")).read_text())
    readable = len(list(corpus.glob("*.hea"))) - len(BROKEN)  # good ones and the two odd Dx
    assert manifest["n_records"] == readable and manifest["n_skipped"] == len(BROKEN) + 1

    proc = run("ecgtricks.prepare", f"data.path={corpus}", "data.on_error=raise", cwd=tmp_path,
               env={"ECGTRICKS_CACHE": str(tmp_path / "strict")})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("error: ") and str(corpus) in line


@pytest.mark.slow
def test_train_predict_evaluate_on_the_broken_corpus(corpus: Path, tmp_path: Path) -> None:
    args = ["debug=smoke", "data=folder", f"data.path={corpus}", "data.n_folds=4", "logger=csv",
            f"output_root={tmp_path / 'runs'}"]
    env = {"ECGTRICKS_CACHE": str(tmp_path / "cache")}
    proc = run("ecgtricks.train", *args, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (summary,) = (tmp_path / "runs").rglob("summary.json")
    proc = run("ecgtricks.train", *args, "data.on_error=raise", cwd=tmp_path,
               env={"ECGTRICKS_CACHE": str(tmp_path / "cache2")})
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and str(corpus) in proc.stderr

    model = summary.parent / "model"
    out = tmp_path / "predictions"
    proc = run("ecgtricks.predict", str(model), str(corpus), str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = sorted(p.stem for p in out.glob("*.csv"))
    assert len(written) == len(list(corpus.glob("*.hea"))) - len(BROKEN)
    assert not any(n in written for n in BROKEN)
    for name in BROKEN:
        assert name in proc.stderr, name  # each skipped record named in the log
    proc = run("ecgtricks.predict", str(model), str(corpus), str(tmp_path / "p2"), "--on-error", "raise", cwd=tmp_path)
    last = proc.stderr.strip().splitlines()[-1]  # after the log lines: one error line, no traceback
    assert proc.returncode == 2 and last.startswith("error: ") and "X_" in last and "Traceback" not in proc.stderr

    proc = run("ecgtricks.evaluate", str(corpus), str(out), cwd=tmp_path)  # ambiguous labels
    assert proc.returncode == 2 and "occurs twice" in proc.stderr and proc.stderr.strip().count("\n") == 0
    labels = tmp_path / "labels"  # the corpus without its second folder: broken headers and all
    labels.mkdir()
    for hea in corpus.glob("*.hea"):
        (labels / hea.name).symlink_to(hea)
    proc = run("ecgtricks.evaluate", str(labels), str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in BROKEN:  # no output for them: reported by name, scored as all negative
        assert name in proc.stderr, name
    header, values = proc.stdout.strip().splitlines()[-2:]
    assert header.startswith("AUROC,AUPRC") and len(values.split(",")) == 7


# ------------------------------------------------------------------ header fuzzing

_TOKEN = st.one_of(
    st.sampled_from(["A0001", "E00009.mat", "12", "500", "5000", "16", "16x1+24", "212", "1000.0(0)/mV",
                     "1000/mV", "abc/mV", "(0)", "NaN", "-1", "0", "1e309", "I", "II", "aVR", "V6", "/", "#"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
_LINE = st.one_of(
    st.lists(_TOKEN, max_size=10).map(" ".join),
    st.tuples(st.sampled_from(["#Age:", "# Dx:", "#Dx:", "#Sex:", "#Age :", "# Rx:"]), _TOKEN).map(" ".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINE, min_size=0, max_size=16))
def test_fuzzed_headers_raise_only_the_projects_errors(lines: list[str]) -> None:
    try:
        parse_header("\n".join(lines), "fuzz.hea")
    except ECGTricksError as exc:
        assert "fuzz.hea" in str(exc) and "\n" not in str(exc).strip()


# ------------------------------------------------------------------ concurrency and resume


def test_four_concurrent_prepares_build_the_cache_once(tmp_path: Path, samples_dir: Path) -> None:
    env = {**os.environ, "ECGTRICKS_CACHE": str(tmp_path)}
    cmd = [sys.executable, "-m", "ecgtricks.prepare", f"data.path={samples_dir}", "data.limit=40", "data.workers=1"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum("built in" in o for o in outputs) == 1 and sum("reused" in o for o in outputs) == 3
    caches = [p for p in (tmp_path / "caches").iterdir() if p.is_dir() and p.name != "folds"]
    assert len(caches) == 1 and (caches[0] / "manifest.json").is_file()
    assert not list((tmp_path / "caches").glob(".*tmp*"))  # no temporary directory left


@pytest.mark.slow
def test_a_cache_build_killed_with_kill_9_leaves_nothing_behind_the_next_build(tmp_path: Path) -> None:
    from ecgtricks.synth.twin import synthesize

    twin = synthesize(tmp_path / "twin", scale=0.02, seed=0, sources=["ptb", "ptbxl"], workers=1, progress=False)
    env = {**os.environ, "ECGTRICKS_CACHE": str(tmp_path / "cache"), "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "ecgtricks.prepare", "data=challenge2020", f"data.path={tmp_path / 'twin'}",
           "data.sources=[ptb,ptbxl]", "data.workers=1"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    caches = tmp_path / "cache" / "caches"
    deadline = time.time() + 120
    while time.time() < deadline and not list(caches.glob(".*.tmp-*/*")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (leftover,) = caches.glob(".*.tmp-*")  # what a killed build leaves: its temporary directory
    again = run("ecgtricks.prepare", *cmd[3:], cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert not leftover.exists() and not list(caches.glob(".*tmp*"))
    (cache,) = [p for p in caches.iterdir() if p.is_dir() and p.name != "folds"]
    assert json.loads((cache / "manifest.json").read_text())["n_records"] == twin["records"]


@pytest.mark.slow
def test_kill_9_mid_training_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    args = ["debug=smoke", "trainer.max_epochs=20", "trainer.deterministic=true", "batch_size=8", "logger=csv"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "ECGTRICKS_CACHE": str(tmp_path / "cache")}
    reference = run("ecgtricks.train", *args, f"output_root={tmp_path / 'ref'}", cwd=tmp_path, env=env)
    assert reference.returncode == 0, reference.stderr[-2000:]

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "ecgtricks.train", *args, f"output_root={out}"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(out.rglob("last.ckpt")):
        time.sleep(0.05)
    time.sleep(0.3)  # into the next epoch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert list(out.rglob("last.ckpt")) and not list(out.rglob("summary.json")), "killed too late"

    resumed = run("ecgtricks.train", *args, f"output_root={out}", cwd=tmp_path, env=env)
    assert resumed.returncode == 0 and "resuming from" in resumed.stdout + resumed.stderr
    want = json.loads(next((tmp_path / "ref").rglob("summary.json")).read_text())
    got = json.loads(next(out.rglob("summary.json")).read_text())
    for key in ("wall_time_s", "train_records_per_s", "first_step_s", "val_seconds", "overrides"):
        want.pop(key), got.pop(key)
    assert got == want


def test_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecgtricks.utils import files

    target = tmp_path / "summary.json"
    files.atomic_write_json(target, {"a": 1})

    def crash(*_args, **_kwargs):
        raise OSError("disk died")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        files.atomic_write_json(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 1}  # the finished file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left behind


@pytest.mark.slow
def test_a_checkpoint_cut_short_is_set_aside_not_resumed(tmp_path: Path) -> None:
    args = ["debug=smoke", "logger=csv", f"output_root={tmp_path}"]
    assert run("ecgtricks.train", *args, cwd=tmp_path).returncode == 0
    (summary,) = tmp_path.rglob("summary.json")
    summary.unlink()
    last = summary.parent / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:2000])  # as a kill during the write leaves it
    proc = run("ecgtricks.train", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "unreadable" in proc.stdout + proc.stderr and summary.is_file()
    assert (last.parent / "last.ckpt.corrupt").is_file()


def _peak_rss_of_build(records_dir: Path, cache: Path) -> float:
    code = (
        "from ecgtricks.data.cache import build_cache; from ecgtricks.data.preprocess import build_pipeline\n"
        "from ecgtricks.data.record import find_records\n"
        f"build_cache(find_records({str(records_dir)!r}), build_pipeline({{'resample': {{'fs': 500}}}}), {str(cache)!r},"
        " workers=1, progress=False)\n"
        "print(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024  # MiB


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux) for peak RSS")
def test_cache_build_memory_does_not_grow_with_the_dataset(tmp_path: Path) -> None:
    from ecgtricks.synth.builtin import generate_dataset

    generate_dataset(tmp_path / "small", n_records=100, seed=0)
    generate_dataset(tmp_path / "large", n_records=600, seed=0)
    small = _peak_rss_of_build(tmp_path / "small", tmp_path / "c1")
    large = _peak_rss_of_build(tmp_path / "large", tmp_path / "c2")
    size = sum(f.stat().st_size for f in (tmp_path / "c2").rglob("signals.f32")) / 2**20
    assert size > 150  # the large cache's signals: far more than the allowed growth below
    assert large - small < 40, f"peak RSS {small:.0f} -> {large:.0f} MiB for a {size:.0f} MiB cache"
