"""The synthetic twin of the archives, 2020 (six) and 2021 (eight): names, counts, labels, layout,
dialects, resume, editions, and the paper's split on it."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.data.folds import paper_folds
from ecgtricks.data.record import read_record
from ecgtricks.data.sources import SOURCES, SOURCES_2021, dx_counts
from ecgtricks.scoring.editions import edition
from ecgtricks.scoring.labels import SCORED_AS, SCORED_CLASSES
from ecgtricks.synth import ecg as m
from ecgtricks.synth.twin import RHYTHMS_2021, plan, synthesize, write_twin_record
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


# ---------------------------------------------------------------------------------------------
# The 2021 edition: eight sources, 26 classes

BUNDLE_BRANCH_BLOCKS = (m.LBBB, m.CLBBB, m.RBBB, m.CRBBB, m.IRBBB, m.BBB)


def test_dx_counts_2021_has_eight_sources_and_keeps_2020_as_the_default() -> None:
    assert dx_counts() == dx_counts(2020)
    table = dx_counts(2021)
    assert len(table) == 133 and sum(d.scored for d in table) == 30
    assert {d.code for d in table if d.scored} == set(edition(2021).all_codes)
    assert all(list(d.per_source) == list(SOURCES_2021) for d in table)
    old = {d.code: d.per_source for d in dx_counts(2020)}
    for d in table:  # the six sources keep their 2020 counts
        assert {k: d.per_source[k] for k in SOURCES} == old.get(d.code, dict.fromkeys(SOURCES, 0))
    with pytest.raises(ValueError, match="edition"):
        dx_counts(2019)


def test_full_scale_2021_plan_has_every_tables_count_exactly() -> None:
    records = plan(1.0, seed=0, edition=2021)
    assert len(records) == 88253 == sum(s.records for s in SOURCES_2021.values())
    for key, source in SOURCES_2021.items():
        mine = [r for r in records if r.source == key]
        assert [r.name for r in mine] == source.names(), key
        counts = Counter(code for r in mine for code in r.labels)
        assert {d.code: counts[d.code] for d in dx_counts(2021)} == {
            d.code: d.per_source[key] for d in dx_counts(2021)}, key
        assert all(r.labels for r in mine), f"{key}: a record without a label"
        assert all(len(set(r.labels)) == len(r.labels) for r in mine)
        sets = [set(r.labels) for r in mine]
        # BBB and CLBBB go with no other bundle branch block; CLBBB not with its equivalent LBBB
        for new in (m.BBB, m.CLBBB):
            assert not any(new in s and len(s & set(BUNDLE_BRANCH_BLOCKS)) > 1 for s in sets), key
    chapman = [set(r.labels) for r in records if r.source == "chapman_shaoxing"]
    one_rhythm = np.mean([len(s & RHYTHMS_2021) == 1 for s in chapman])
    assert one_rhythm > 0.995, one_rhythm  # its rhythm counts add up to its records
    assert SOURCES_2021["chapman_shaoxing"].names()[:2] == ["JS00001", "JS00002"]
    assert SOURCES_2021["ningbo"].names()[0] == "JS10647" and SOURCES_2021["ningbo"].names()[-1] == "JS45551"


def test_2021_small_scale_has_the_26_classes_and_2020_plans_are_unchanged() -> None:
    small = plan(0.02, seed=0, edition=2021)
    scored_as = edition(2021).scored_as
    assert {scored_as[c] for r in small for c in r.labels if c in scored_as} == set(edition(2021).codes)
    assert Counter(r.source for r in small) == {k: round(0.02 * s.records) for k, s in SOURCES_2021.items()}
    # CPSC has none of the codes whose rules 2021 changes: its records are 2020's
    assert [r for r in small if r.source == "cpsc"] == [r for r in plan(0.02, seed=0) if r.source == "cpsc"]
    with pytest.raises(ECGTricksError, match="no source ningbo in the 2020 training set"):
        plan(0.02, sources=["ningbo"])
    with pytest.raises(ECGTricksError, match="--edition"):
        plan(0.02, edition=2019)


@pytest.fixture(scope="module")
def twin2021(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("twin2021") / "t"
    synthesize(dest, scale=0.02, seed=0, workers=2, progress=False, edition=2021)
    return dest


def _shape(header: str) -> tuple[str, ...]:
    """A header's dialect: every line with its numbers (and code lists, sexes) blanked."""
    out = []
    for line in header.splitlines():
        line = re.sub(r"^JS\d+", "NAME", line)
        line = re.sub(r"(Dx: )[\d,]+", r"\1CODES", line)
        line = re.sub(r"(Sex: )\w+", r"\1SEX", line)
        out.append(re.sub(r"-?\d+", "9", line))
    return tuple(out)


def test_2021_twin_reads_back_with_the_new_sources_names_and_dialects(twin2021: Path) -> None:
    import wfdb

    summary = json.loads((twin2021 / "twin.json").read_text())
    assert summary["complete"] and summary["edition"] == 2021 and summary["scored_classes"] == 26
    assert summary["per_source"] == {k: round(0.02 * s.records) for k, s in SOURCES_2021.items()}
    scored_as = edition(2021).scored_as
    classes, shapes, dead = set(), {}, Counter()
    for key, source in SOURCES_2021.items():
        headers = sorted((twin2021 / key).glob("*.hea"))
        assert len(headers) == summary["per_source"][key]
        assert {h.stem for h in headers} <= set(source.names())
        for h in headers:
            record = wfdb.rdrecord(str(h.with_suffix("")))
            ours = read_record(h.with_suffix(""))
            assert record.fs == ours.fs == source.fs and record.sig_name == list(ours.lead_names) == list(m.LEADS)
            np.testing.assert_allclose(record.p_signal.T, ours.signal, atol=1e-6)
            classes |= {scored_as[c] for c in ours.labels if c in scored_as}
            if key in ("chapman_shaoxing", "ningbo"):
                assert record.sig_len == 5000  # 10 s at 500 Hz
                shapes.setdefault(key, set()).add(_shape(h.read_text()))
                dead[key] += bool((ours.signal[6:] == 0).all(axis=1).any())
    assert classes == set(edition(2021).codes)
    numbers = {key: [int(h.stem[2:]) for h in (twin2021 / key).glob("*.hea")] for key in ("chapman_shaoxing", "ningbo")}
    assert 1 <= min(numbers["chapman_shaoxing"]) and max(numbers["chapman_shaoxing"]) <= 10247
    assert 10647 <= min(numbers["ningbo"]) and max(numbers["ningbo"]) <= 45551
    assert len(shapes["chapman_shaoxing"]) == 1 and len(shapes["ningbo"]) == 2  # dialects
    assert "23-Mar-2021 20:20:47" in (next((twin2021 / "chapman_shaoxing").glob("*.hea"))).read_text()
    # Ningbo's dead chest leads (1 in 6 records), none in Chapman-Shaoxing
    assert dead["chapman_shaoxing"] == 0 and 0.08 < dead["ningbo"] / summary["per_source"]["ningbo"] < 0.25


def test_2021_dialects_are_the_real_records(twin2021: Path, samples_dir: Path) -> None:
    """Line by line (numbers, codes and sexes blanked) the twin's headers are the shared real
    ones: Chapman-Shaoxing's dated 2020 dialect; Ningbo's 2020 and 2021 dialects."""
    for key, pattern in (("chapman_shaoxing", "JS0*.hea"), ("ningbo", "JS[24]*.hea")):
        real = {_shape(h.read_text()) for h in samples_dir.glob(pattern)}
        ours = {_shape(h.read_text()) for h in (twin2021 / key).glob("*.hea")}
        assert ours == real, key


def test_a_record_is_drawn_alike_in_either_edition(twin2021: Path, tmp_path: Path) -> None:
    """A record's signal is its labels' (a bundle branch block shows whether or not the edition
    scores it): written by the 2020 twin, a 2021 twin's record is the same file."""
    records = [r for r in plan(0.02, seed=0, edition=2021) if r.source == "georgia"]
    with_bbb = [r for r in records if m.BBB in r.labels]
    without = [r for r in records if not set(r.labels) & {m.BBB, m.CLBBB, m.PRWP}][:5]
    assert with_bbb and without
    for r in without + with_bbb[:1]:
        write_twin_record(tmp_path, 0, r, edition=2020)
        for ext in (".hea", ".mat"):
            assert (tmp_path / "georgia" / f"{r.name}{ext}").read_bytes() == (
                twin2021 / "georgia" / f"{r.name}{ext}").read_bytes(), r


def test_a_rerun_with_another_edition_is_refused(twin2021: Path, twin: Path) -> None:
    before = (twin2021 / "twin.json").read_text()
    with pytest.raises(ECGTricksError, match="holds a twin of .*'edition': 2021"):
        synthesize(twin2021, scale=0.02, seed=0, progress=False, edition=2020,
                   sources=list(SOURCES))
    with pytest.raises(ECGTricksError, match="holds a twin of .*'edition': 2020"):
        synthesize(twin, scale=0.004, seed=0, progress=False, edition=2021, sources=list(SOURCES))
    assert (twin2021 / "twin.json").read_text() == before
    assert "edition" not in json.loads((twin / "twin.json").read_text())  # 2020's as it was
    again = synthesize(twin2021, scale=0.02, seed=0, progress=False, edition=2021)
    assert again["written"] == 0 and again["records"] == json.loads(before)["records"]


def test_cli_edition_and_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ecgtricks.synthesize import main

    assert main([str(tmp_path / "a"), "--edition", "2021", "--scale", "0.001", "--sources",
                 "chapman_shaoxing", "--no-progress", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "10 records (10 written now) in 1 sources" in out and "/26 scored classes" in out
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["chapman_shaoxing", "twin.json"]
    with pytest.raises(SystemExit):
        main([str(tmp_path / "b"), "--sources", "ningbo", "--no-progress"])  # not a 2020 source
    assert "not in the 2020 training set" in capsys.readouterr().err
