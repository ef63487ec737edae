"""The synthetic twin of the six archives: names, counts, labels, layout, dialects, resume, and the
paper's split on it."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.data.folds import paper_folds
from ecgtricks.data.sources import SOURCES, dx_counts
from ecgtricks.scoring.labels import SCORED_AS, SCORED_CLASSES
from ecgtricks.synth import ecg as m
from ecgtricks.synth.twin import plan, synthesize
from ecgtricks.utils.errors import ConfigError, ECGTricksError


def test_record_names_are_the_archives_names(paper_split: Path) -> None:
    split = json.loads(paper_split.read_text())
    for source in SOURCES.values():
        assert source.names() == split[source.split_key]["all"], source.key
        assert len(source.names()) == source.records


def test_dx_count_table_is_the_official_tables(reference_dir: Path) -> None:
    ours = {(d.code, d.scored): d for d in dx_counts()}
    columns = dict(zip(SOURCES, ("CPSC", "CPSC-Extra", "StPetersburg", "PTB", "PTB-XL", "Georgia"), strict=True))
    rows = 0
    for scored, name in ((True, "dx_mapping_scored.csv"), (False, "dx_mapping_unscored.csv")):
        for row in csv.DictReader((reference_dir / name).open()):
            d = ours[(row["SNOMED CT Code"], scored)]
            assert d.abbreviation == row["Abbreviation"]
            assert d.per_source == {k: int(row[c]) for k, c in columns.items()}
            rows += 1
    assert rows == len(ours) == 111


def test_full_scale_plan_has_every_tables_count_exactly() -> None:
    records = plan(1.0, seed=0)
    assert len(records) == 43101
    for key, source in SOURCES.items():
        mine = [r for r in records if r.source == key]
        assert len(mine) == source.records
        counts = Counter(code for r in mine for code in r.labels)
        assert {d.code: counts[d.code] for d in dx_counts()} == {d.code: d.per_source[key] for d in dx_counts()}
        assert all(r.labels for r in mine), f"{key}: a record without a label"
        assert all(len(set(r.labels)) == len(r.labels) for r in mine)


def test_co_occurrence_is_realistic() -> None:
    ptbxl = [set(r.labels) for r in plan(1.0, seed=0) if r.source == "ptbxl"]
    multi = np.mean([len(s) > 1 for s in ptbxl])
    assert multi > 0.5  # PTB-XL: 56,129 labels on 21,837 records
    both = lambda a, b: sum(a in s and b in s for s in ptbxl)  # noqa: E731
    assert both(m.NSR, m.TAB) > 1000 and both(m.NSR, m.LAD) > 1000  # sinus rhythm with TAb / LAD
    assert both(m.LANFB, m.LAD) > 0.5 * sum(m.LANFB in s for s in ptbxl)  # LAnFB goes with LAD
    assert both(m.RBBB, m.CRBBB) == both(m.LAD, m.RAD) == both(m.PAC, m.SVPB) == 0
    # each source's habit for the RBBB pair: CPSC writes 59118001, PTB-XL 713427006
    cpsc = Counter(c for r in plan(1.0, seed=0) if r.source == "cpsc" for c in r.labels)
    assert cpsc[m.RBBB] == 1857 and cpsc[m.CRBBB] == 0
    assert sum(m.CRBBB in s for s in ptbxl) == 542 and sum(m.RBBB in s for s in ptbxl) == 0


def test_small_scale_is_a_deterministic_subset_with_the_tables_rates() -> None:
    a, b = plan(0.05, seed=0), plan(0.05, seed=0)
    assert a == b and plan(0.05, seed=1) != a
    per_source = Counter(r.source for r in a)
    assert per_source == {k: round(0.05 * s.records) for k, s in SOURCES.items()}
    assert sum(per_source.values()) == 2156  # "about 2,150"
    for key, source in SOURCES.items():
        names = set(source.names())
        mine = [r for r in a if r.source == key]
        assert all(r.name in names for r in mine)
        counts = Counter(code for r in mine for code in r.labels)
        for d in dx_counts():
            expected = d.per_source[key] * len(mine) / source.records
            assert abs(counts[d.code] - expected) < 1, (key, d.code, counts[d.code], expected)
    present = {SCORED_AS[c] for r in a for c in r.labels if c in SCORED_AS}
    assert present == set(SCORED_CLASSES) and len(present) == 24


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("twin") / "t"
    synthesize(dest, scale=0.004, seed=0, workers=2, progress=False)
    return dest


def test_layout_rates_dialects_and_wfdb_reads_them(twin: Path) -> None:
    import wfdb

    summary = json.loads((twin / "twin.json").read_text())
    assert summary["complete"] and summary["records"] == sum(summary["per_source"].values())
    dialects = Counter()
    for key, source in SOURCES.items():
        headers = sorted((twin / key).glob("*.hea"))
        assert len(headers) == summary["per_source"][key] >= 1
        assert {h.stem for h in headers} <= set(source.names())
        for h in headers:
            record = wfdb.rdrecord(str(h.with_suffix("")))
            assert record.fs == source.fs and record.n_sig == 12
            assert record.sig_name == list(m.LEADS)
            text = h.read_text()
            dialects[(key, "16x1+24" in text, "# Dx:" in text, "/mv " in text)] += 1
            seconds = record.sig_len / record.fs
            if key == "incart":
                assert seconds == 1800
            elif key == "ptbxl":
                assert seconds == 10
            elif key in ("cpsc", "cpsc_extra"):
                assert 6 <= seconds <= 60
    keys = {k for k, *_ in dialects}
    assert keys == set(SOURCES)
    assert any(new and spaced for (k, new, spaced, _) in dialects if k == "georgia")  # 2021 dialect
    assert all(not new for (k, new, _, _) in dialects if k in ("cpsc", "cpsc_extra", "ptb"))
    assert all(mv for (k, _, _, mv) in dialects if k in ("ptb", "ptbxl"))


def test_mains_is_50_hz_in_europe_and_china_and_60_in_georgia(twin: Path) -> None:
    import wfdb

    def mains_ratio(key: str) -> float:
        """Spectral power at 60 Hz over that at 50 Hz, summed over the source's records."""
        p50 = p60 = 0.0
        for h in sorted((twin / key).glob("*.hea")):
            x = wfdb.rdrecord(str(h.with_suffix(""))).p_signal[:, 0]
            spectrum = np.abs(np.fft.rfft(x - x.mean())) ** 2
            freqs = np.fft.rfftfreq(len(x), 1 / SOURCES[key].fs)
            p50 += spectrum[np.abs(freqs - 50) < 0.3].sum()
            p60 += spectrum[np.abs(freqs - 60) < 0.3].sum()
        return p60 / p50

    assert mains_ratio("georgia") > 3 and mains_ratio("ptbxl") < 1 / 3


def test_an_interrupted_run_finishes_the_rest_identically(twin: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(twin, copy)
    gone = sorted((copy / "cpsc").glob("*.hea"))[:3]
    before = {h: h.with_suffix(".mat").read_bytes() for h in gone}
    for h in gone:
        h.unlink()
        h.with_suffix(".mat").write_bytes(b"half a file")  # killed while writing the signal
    summary = synthesize(copy, scale=0.004, seed=0, workers=1, progress=False)
    assert summary["written"] == 3
    assert all(h.is_file() and h.with_suffix(".mat").read_bytes() == data for h, data in before.items())
    with pytest.raises(ECGTricksError, match="holds a twin of"):
        synthesize(copy, scale=0.01, seed=0, progress=False)


def test_prepare_reads_every_record(twin: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ecgtricks.prepare", "data=challenge2020", f"data.path={twin}",
         f"data.cache_dir={tmp_path / 'cache'}", "preprocess.resample.fs=250"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    manifest = json.loads(next((tmp_path / "cache").rglob("manifest.json")).read_text())
    assert manifest["n_skipped"] == 0
    assert manifest["n_records"] == json.loads((twin / "twin.json").read_text())["records"]


def test_paper_folds_read_the_split_and_mark_the_unnamed(tmp_path: Path, paper_split: Path) -> None:
    split = json.loads(paper_split.read_text())
    names = [split["CPSC"]["fold3"][0], split["Georgia"]["fold7"][5], "A9999", split["PTB-XL"]["fold0"][9]]
    assert paper_folds(paper_split, names).tolist() == [3, 7, -1, 0]
    with pytest.raises(ConfigError, match="split file, not found at .*--split-only"):
        paper_folds(tmp_path / "nope.json", names)
    bad = tmp_path / "bad.json"
    bad.write_text('{"CPSC": {"all": []}}')
    with pytest.raises(ConfigError, match=f"{bad}: not the paper's split file"):
        paper_folds(bad, names)


@pytest.mark.slow
def test_dsail2020_and_leave_one_source_out_train_on_the_twin(twin: Path, tmp_path: Path, paper_split: Path) -> None:
    split = json.loads(paper_split.read_text())
    present = {h.stem for h in twin.rglob("*.hea")}
    fold3 = {n for source in split.values() for n in source["fold3"]} & present
    common = ["debug=smoke", "data=challenge2020", f"data.path={twin}", "data.limit=null",
              f"data.cache_dir={tmp_path / 'cache'}", "preprocess.resample.fs=250", "logger=csv",
              f"output_root={tmp_path / 'out'}", "trainer.max_epochs=1"]
    for args in (["split=dsail2020", f"split.file={paper_split}", "fold=3"], ["split=leave_one_source_out", "fold=2"]):
        proc = subprocess.run([sys.executable, "-m", "ecgtricks.train", *common, *args],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = {s["split"]: s for s in (json.loads(p.read_text()) for p in (tmp_path / "out").rglob("summary.json"))}
    assert summaries["dsail2020"]["n_val"] == len(fold3)
    assert summaries["leave_one_source_out"]["held_out_source"] == sorted(s.title for s in SOURCES.values())[2]
