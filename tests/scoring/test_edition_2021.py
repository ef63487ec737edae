"""The 2021 edition without the oracle: output files, remarks, the command line, metrics and
threshold tuning with ``edition=2021`` (the oracle tests are in test_official_scorer_2021)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.evaluate import HEADERS, format_scores, main
from ecgtricks.scoring import challenge_score, edition, encode_labels, evaluate, weight_matrix
from ecgtricks.scoring.label_files import load_labels, read_dx_2021
from ecgtricks.scoring.metrics import challenge_terms
from ecgtricks.scoring.outputs import (
    load_outputs,
    output_columns,
    parse_output,
    read_output,
    write_output,
)
from ecgtricks.scoring.postprocess import combine_thresholds, threshold_search, tune_thresholds
from ecgtricks.utils.errors import RecordError

ED = edition(2021)
COL = ED.column
CLBBB, LBBB, AF, AFL = "733534002", "164909002", "164889003", "164890007"


def parse(text: str):
    return parse_output(text.splitlines(keepends=True), edition=2021)


# --------------------------------------------------------------------------- one file


def test_output_columns() -> None:
    assert output_columns(f"{CLBBB}|{LBBB}") == output_columns(f"{LBBB}|{CLBBB}") == (COL[CLBBB],)
    assert output_columns(f"{AF}|{AFL}") == (COL[AF], COL[AFL])  # counts for both
    assert output_columns(f"{AF}|999999") == (COL[AF],)
    assert output_columns(f"{CLBBB} | {LBBB}") == ()  # parts are not stripped
    assert output_columns(LBBB, 2020) == (edition(2020).column[LBBB],)
    assert output_columns(f"{CLBBB}|{LBBB}", 2020) == ()


def test_parse_reads_as_the_2021_reader() -> None:
    parsed = parse(f"#r1\n{CLBBB}|{LBBB}, {AF} ,999999\n1.0,t,1\n0.5, inf ,nan\n")
    assert parsed.ok and parsed.name == "r1"
    assert parsed.classes == (f"{CLBBB}|{LBBB}", AF, "999999")
    assert parsed.binary.tolist() == [True, True, True]  # "1.0" is positive in 2021
    assert parsed.scores[0] == 0.5 and np.isinf(parsed.scores[1]) and np.isnan(parsed.scores[2])
    assert any("'1.0' read as 1" in r for r in parsed.remarks)
    assert any("'inf' read as 0" in r for r in parsed.remarks)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "0 line"),
        ("#r\n164889003\n1\n", "3 line"),
        ("#r\n164889003,426783006\n1,1\n0.5\n", "'426783006' .field 2. has no binary output or score"),
    ],
)
def test_files_the_official_reader_stops_on(text: str, problem: str) -> None:
    parsed = parse(text)
    assert not parsed.ok and parsed.classes == ()
    assert len(parsed.remarks) == 1 and "formatting error" in parsed.remarks[0]
    assert "stops with an exception" in parsed.remarks[0]
    assert re.search(problem, parsed.remarks[0])


@pytest.mark.parametrize(
    ("text", "remark"),
    [
        ("164889003\n1\n0.5\n0.5\n", "first line '164889003' is not '#NAME'"),
        ("#r\n164889003,999999\n1\n0.5\n", "2 classes, 1 binary outputs and 1 scores"),
        ("#r\n164889003\n1\n0.5\n0.7\n", "1 line.s. after the scores ignored"),
        ("#r\n164889003,164889003|164890007\n1,0\n0.5,0.2\n", "164889003 listed twice"),
        ("#r\n164889003|164890007\n1\n0.5\n", "join codes of different classes"),
        ("#r\n713427006 | 59118001\n1\n0.5\n", "padded with spaces"),
        ("#r\n164889003\nyes\n0.5\n", "'yes' read as 0"),
        ("#r\n164889003\n1\nhigh\n", "'high' read as 0"),
    ],
)
def test_remarks(text: str, remark: str, tmp_path: Path) -> None:
    parsed = parse(text)
    assert parsed.ok
    assert any(re.search(remark, r) for r in parsed.remarks), parsed.remarks
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(RecordError):
        read_output(path, edition=2021)


def test_write_output_2021(tmp_path: Path) -> None:
    path = tmp_path / "A1.csv"
    classes = [(CLBBB, LBBB), AF, f"{AFL}"]
    write_output(path, "A1", classes, np.array([1, 0, 1]), np.array([0.25, np.nan, 1 / 3]), edition=2021)
    assert path.read_text().splitlines()[:3] == ["#A1", f"{CLBBB}|{LBBB},{AF},{AFL}", "1,0,1"]
    name, got, b, p = read_output(path, edition=2021)
    assert name == "A1" and got == (f"{CLBBB}|{LBBB}", AF, AFL) and b.tolist() == [True, False, True]
    assert p[0] == 0.25 and np.isnan(p[1]) and p[2] == 1 / 3
    binary, scores, problems = load_outputs(tmp_path, ["A1"], edition=2021)
    assert problems == [] and binary.shape == (1, 26)
    assert binary[0, COL[CLBBB]] and not binary[0, COL[AF]] and scores[0, COL[AF]] == 0.0
    for bad in ([(CLBBB, "")], [f"{CLBBB}| {LBBB}"], [AF, AF]):
        with pytest.raises(ValueError):
            write_output(path, "A1", bad, np.zeros(len(bad)), np.zeros(len(bad)), edition=2021)
    for bad in ([(CLBBB, LBBB)], [f"{CLBBB}|{LBBB}"]):  # no "|" notation in 2020
        with pytest.raises(ValueError, match="2020"):
            write_output(path, "A1", bad, np.zeros(1), np.zeros(1))


def test_load_outputs_2021_means_sanitised_scores(tmp_path: Path) -> None:
    """A class matched by several entries: OR of the binary outputs, plain mean of the scores
    with NaN/inf read as 0 first (2020: nanmean, infinities kept)."""
    (tmp_path / "a.csv").write_text(f"#a\n{CLBBB},{LBBB}|{CLBBB},{AF},{AF}\n0,1,1,0\n0.6,nan,inf,0.5\n")
    binary, scores, problems = load_outputs(tmp_path, ["a", "gone"], edition=2021)
    assert binary[0, COL[CLBBB]] and binary[0, COL[AF]]
    assert scores[0, COL[CLBBB]] == pytest.approx(0.3) and scores[0, COL[AF]] == pytest.approx(0.25)
    assert not binary[1].any() and not scores[1].any()
    assert len(problems) == 2 and "gone.csv: output file is missing" in problems[1]


def test_read_dx_2021(tmp_path: Path) -> None:
    path = tmp_path / "h.hea"
    path.write_text(
        "h 12 500 5000\r\n#Dx: 164889003, 59118001\r\n# Dx: 6374002\r\n#Dx:365413008\r\n"
        "#Dx: 426783006: 1\r\n #Dx: 17338001\r\n"
    )
    # every #Dx line; "# Dx" read as "#Dx"; no ": " -> nothing; only the field after the
    # first ": "; a line not starting with "#Dx" is no Dx line
    assert read_dx_2021(path) == ("164889003", "59118001", "6374002", "426783006")
    names, y = load_labels(tmp_path, edition=2021)
    assert names == ["h"] and y.shape == (1, 26)
    assert np.array_equal(y, encode_labels([["164889003", "59118001", "6374002", "426783006"]], edition=2021))


def test_legacy_rule_is_2020_only(tmp_path: Path) -> None:
    (tmp_path / "h.hea").write_text("h 12 500 5000\n#Dx: 164889003\n")
    with pytest.raises(ValueError, match="2021"):
        load_labels(tmp_path, legacy_normal_rule=True, edition=2021)
    with pytest.raises(ValueError, match="2021"):
        load_outputs(tmp_path, ["h"], legacy_normal_rule=True, edition=2021)


# --------------------------------------------------------------------------- command line


def test_cli_edition_2021(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labels, out = tmp_path / "labels", tmp_path / "outputs"
    labels.mkdir()
    codes = [["164909002"], ["6374002", "426783006"], ["365413008"], ["55827005"]]
    for i, c in enumerate(codes):
        (labels / f"R{i}.hea").write_text(f"R{i} 12 500 5000\n#Dx: {','.join(c)}\n")
    y = encode_labels(codes, edition=2021)
    for i in range(len(codes)):
        write_output(out / f"R{i}.csv", f"R{i}", ED.classes, y[i], y[i].astype(float), edition=2021)
    assert main([str(labels), str(out), str(tmp_path / "s.csv"), "--edition", "2021"]) == 0
    stdout = capsys.readouterr().out
    assert stdout == HEADERS[2021] + "\n1.000000,1.000000,1.000000,1.000000,1.000000\n"
    assert (tmp_path / "s.csv").read_text() == stdout
    assert stdout == format_scores(evaluate(y, y, y, edition=2021), 2021)
    # The 2020 reading of the same folder: no 2021 classes, "a|b" unread.
    assert main([str(labels), str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == HEADERS[2020]
    with pytest.raises(SystemExit) as info:
        main([str(labels), str(out), "--edition", "2021", "--legacy-normal-rule"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main([str(labels), str(out), "--edition", "2019"])


# --------------------------------------------------------------------------- metrics, thresholds


def test_metrics_with_edition() -> None:
    rng = np.random.default_rng(0)
    y = rng.random((40, 26)) < 0.15
    p = np.clip(0.5 * y + 0.6 * rng.random(y.shape), 0, 1)
    b = p >= 0.5
    result = evaluate(y, p, b, edition=2021)
    assert list(result) == list(ED.scores)
    terms = challenge_terms(y, edition=2021)
    assert challenge_score(y, b, edition=2021) == terms.normalise(terms.observed(b))
    assert challenge_score(y, b, weight_matrix(edition=2021), classes=ED.codes) == result["challenge_score"]
    assert challenge_score(y, y, edition=ED) == 1.0
    with pytest.raises(ValueError):
        challenge_score(y, b)  # 26 columns against the 2020 weights
    with pytest.raises(ValueError, match="2021"):
        challenge_score(y, b, classes=list(ED.codes[::-1]), edition=2021)


def test_thresholds_with_edition() -> None:
    rng = np.random.default_rng(1)
    y = rng.random((60, 26)) < 0.2
    p = np.clip(0.4 * y + 0.7 * rng.random(y.shape), 0, 1)
    result = threshold_search(y, p, edition=2021)
    assert result.thresholds.shape == (26,) and result.score >= result.start_score
    assert result.score == pytest.approx(challenge_score(y, p >= result.thresholds, edition=2021))
    assert np.array_equal(tune_thresholds(y, p, edition=2021), result.thresholds)
    t = combine_thresholds(np.full((3, 26), 0.5), method="retune", oof_labels=y,
                           oof_probabilities=p, edition=2021)
    assert t.shape == (26,)
    with pytest.raises(ValueError):
        tune_thresholds(y, p)  # 2020 expects 24 columns
