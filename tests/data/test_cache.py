from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.data import RecordError, find_records, read_record
from ecgtricks.data.cache import build_cache
from ecgtricks.data.folds import assign_folds, load_or_assign_folds
from ecgtricks.data.preprocess import build_pipeline

PIPE = build_pipeline({"resample": {"fs": 250}, "scale": {"type": "scale", "method": "standard"}})
NAMES = ["A0001", "E07500", "HR00001", "JS00001", "Q0001", "S0001"]


@pytest.fixture()
def small_dir(tmp_path: Path, samples_dir: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name in NAMES:
        for ext in (".hea", ".mat"):
            shutil.copy(samples_dir / f"{name}{ext}", data / f"{name}{ext}")
    return data


def test_cache_holds_exactly_the_preprocessed_signals(small_dir: Path, tmp_path: Path) -> None:
    records = find_records(small_dir)
    cache = build_cache(records, PIPE, tmp_path / "c", name="small", workers=2, progress=False)
    assert cache.built and len(cache) == 6 and cache.fs == 250.0
    for i, path in enumerate(records):
        expected, _ = PIPE(read_record(path).signal, read_record(path).fs)
        np.testing.assert_array_equal(cache.signal(i), expected)
    assert isinstance(cache.signals, np.memmap)
    assert cache.records[0]["labels"] == ["59118001"] and cache.records[5]["source"] == "PTB"


def test_cache_reused_and_invalidated(small_dir: Path, tmp_path: Path) -> None:
    records = find_records(small_dir)
    first = build_cache(records, PIPE, tmp_path / "c", progress=False)
    again = build_cache(records, PIPE, tmp_path / "c", progress=False)
    assert not again.built and again.directory == first.directory
    other = build_cache(records, build_pipeline({"resample": {"fs": 500}}), tmp_path / "c", progress=False)
    assert other.built and other.directory != first.directory
    mat = small_dir / "A0001.mat"
    os.utime(mat, ns=(mat.stat().st_atime_ns, mat.stat().st_mtime_ns + 10**9))
    touched = build_cache(records, PIPE, tmp_path / "c", progress=False)
    assert touched.built and touched.directory not in (first.directory, other.directory)


def test_half_written_cache_is_rebuilt(small_dir: Path, tmp_path: Path) -> None:
    records = find_records(small_dir)
    cache = build_cache(records, PIPE, tmp_path / "c", progress=False)
    (cache.directory / "manifest.json").unlink()  # as if killed before the final write
    rebuilt = build_cache(records, PIPE, tmp_path / "c", progress=False)
    assert rebuilt.built and (rebuilt.directory / "manifest.json").is_file()


def test_bad_records_skipped_and_listed_or_raised(small_dir: Path, tmp_path: Path) -> None:
    (small_dir / "Q0001.mat").unlink()
    mat = small_dir / "JS00001.mat"
    mat.write_bytes(mat.read_bytes()[:500])
    records = find_records(small_dir)
    cache = build_cache(records, PIPE, tmp_path / "c", progress=False)
    assert len(cache) == 4
    skipped = json.loads((cache.directory / "skipped.json").read_text())
    problems = {Path(s["file"]).name: s["problem"] for s in skipped}
    assert problems["Q0001.mat"] == "signal file is missing"
    assert problems["JS00001.mat"].startswith("signal file is truncated")
    with pytest.raises(RecordError, match="JS00001.mat: signal file is truncated"):
        build_cache(records, PIPE, tmp_path / "c2", on_error="raise", progress=False)
    assert not any((tmp_path / "c2").glob("dataset-*/manifest.json"))


def test_folds_deterministic_stratified_and_shared(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = rng.random((1000, 24)) < np.linspace(0.02, 0.4, 24)
    folds = assign_folds(labels, 10, seed=3)
    assert np.array_equal(folds, assign_folds(labels, 10, seed=3))
    assert not np.array_equal(folds, assign_folds(labels, 10, seed=4))
    assert np.abs(np.bincount(folds) - 100).max() <= 3
    per_fold = np.stack([labels[folds == k].sum(0) for k in range(10)])
    expected = labels.sum(0) / 10
    # Iterative stratification places rare labels first: each fold gets its share to within one.
    rare = expected <= 10
    assert (np.abs(per_fold[:, rare] - expected[rare]) <= 1.0).all()
    shuffled = np.random.default_rng(0).permutation(np.arange(1000) % 10)
    random_fold = np.stack([labels[shuffled == k].sum(0) for k in range(10)])
    assert np.abs(per_fold - expected).sum() < np.abs(random_fold - expected).sum()
    names = [f"R{i}" for i in range(1000)]
    saved = load_or_assign_folds(tmp_path, names, labels, 10, 3)
    assert np.array_equal(saved, folds) and len(list(tmp_path.glob("folds-*.npy"))) == 1
    assert np.array_equal(load_or_assign_folds(tmp_path, names, labels, 10, 3), folds)


def test_cache_writer_keeps_a_bounded_number_of_results_in_flight() -> None:
    """Results come back in order and at most ``ahead`` jobs run ahead of the writer: a slow disk
    cannot make finished records pile up in memory (issue 21: 9.4 GiB at 88,253 records)."""
    from concurrent.futures import ThreadPoolExecutor

    from ecgtricks.data.cache import _bounded_map

    submitted = 0

    class Counting(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
            nonlocal submitted
            submitted += 1
            return super().submit(fn, *args, **kwargs)

    with Counting(2) as pool:
        got = []
        for i, value in enumerate(_bounded_map(pool, lambda x: x * x, range(100), ahead=5)):
            assert submitted <= i + 1 + 5
            got.append(value)
    assert got == [x * x for x in range(100)]
