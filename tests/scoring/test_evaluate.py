"""Challenge 2020 output files and the ``python -m ecgtricks.evaluate`` command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.evaluate import HEADER, format_scores, main
from ecgtricks.scoring import metrics
from ecgtricks.scoring.label_files import load_labels
from ecgtricks.scoring.labels import EQUIVALENT_CODES, NORMAL_CLASS, SCORED_CLASSES, encode_labels
from ecgtricks.scoring.outputs import load_outputs, read_output, write_output
from ecgtricks.utils.errors import RecordError

C = len(SCORED_CLASSES)
NORMAL = SCORED_CLASSES.index(NORMAL_CLASS)
COL = {c: i for i, c in enumerate(SCORED_CLASSES)}
# Equivalent codes (59118001 RBBB, 17338001 VPB, ...), single and multi-label records, both
# "#Dx:" and "# Dx:" headers, NSR with other labels and headers with unscored codes only.
SAMPLES = [
    "A0001",
    "A0002",
    "E00005",
    "E00008",
    "E07500",
    "E07509",
    "HR00007",
    "JS20003",
    "Q0002",
    "S0003",
]


def write_file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- one file


def test_round_trip(tmp_path: Path) -> None:
    classes = ["164889003", "59118001", "426783006", "999999"]
    binary = np.array([True, False, True, False])
    probs = np.array([1 / 3, 1e-12, np.nan, 0.999999999])
    path = tmp_path / "A0001.csv"
    write_output(path, "A0001", classes, binary, probs)
    text = path.read_text()
    assert text.endswith("\n") and text.count("\n") == 4
    assert text.splitlines()[:3] == ["#A0001", ",".join(classes), "1,0,1,0"]
    name, got_classes, got_binary, got_probs = read_output(path)
    assert name == "A0001" and got_classes == tuple(classes)
    assert got_binary.dtype == bool and got_binary.tolist() == binary.tolist()
    np.testing.assert_array_equal(got_probs, probs)  # exact, NaN kept
    assert not list(tmp_path.glob(".*"))  # no temp file left behind
    with pytest.raises(ValueError):
        write_output(path, "A0001", classes, binary[:2], probs)


def test_read_tolerates_official_variants(tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "x.csv",
        "# rec7 \r\n\r\n 164889003 , 426783006,59118001,17338001\r\n# note\r\n"
        "True, f ,t,0\r\n 0.25 ,nan, 1e-1,inf\r\n\r\n",
    )
    name, classes, binary, probs = read_output(path)
    assert name == "rec7"
    assert classes == ("164889003", "426783006", "59118001", "17338001")
    assert binary.tolist() == [True, False, True, False]
    assert probs[0] == 0.25 and np.isnan(probs[1]) and probs[2] == 0.1 and probs[3] == np.inf


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("#r\n164889003\n1\n", "formatting error: 2 lines of codes/outputs"),
        ("164889003\n1\n0.5\n", "no '#RECORD' line"),
        ("#r\n164889003,426783006\n1\n0.5,0.5\n", "formatting error: its lines have different"),
        ("#r\n164889003,426783006\n1,1.0\n0.5,0.5\n", "'1.0' read as 0"),
        ("#r\n164889003,426783006\n1,0\n0.5,high\n", "'high' read as 0"),
        ("#r\n164889003,164889003\n1,0\n0.5,0.5\n", "164889003 listed twice"),
        ("#r\n164889003\n1\n0.5\n0.5\n", "1 line.s. after the scores ignored"),
    ],
)
def test_odd_files_raise_record_error(tmp_path: Path, text: str, problem: str) -> None:
    """The official reader reads these without error (see test_official_scorer); read_output
    is for the project's own files and names what is odd."""
    path = write_file(tmp_path / "bad.csv", text)
    with pytest.raises(RecordError, match=problem) as info:
        read_output(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="missing"):
        read_output(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- directories


def test_load_outputs_merges_equivalents_and_ignores_unscored(tmp_path: Path) -> None:
    rbbb, crbbb = "59118001", "713427006"
    write_output(
        tmp_path / "a.csv",
        "a",
        [crbbb, rbbb, "12345"],
        np.array([0, 1, 1]),
        np.array([0.2, 0.6, 0.9]),
    )
    write_output(
        tmp_path / "b.csv", "b", [rbbb, "17338001"], np.array([0, 1]), np.array([np.nan, 0.7])
    )
    write_output(tmp_path / "c.csv", "c", [crbbb], np.array([1]), np.array([0.5]))
    binary, scores, problems = load_outputs(tmp_path, ["a", "b", "c", "missing"])
    assert binary.shape == scores.shape == (4, C) and binary.dtype == bool
    r, v = COL[crbbb], COL[EQUIVALENT_CODES["17338001"]]
    assert binary[:, r].tolist() == [True, False, True, False]  # any of the pair
    assert binary[1, v] and scores[1, v] == 0.7  # a lone non-representative code
    assert scores[0, r] == pytest.approx(0.4)  # nanmean of 0.2 and 0.6
    assert scores[1, r] == 0.0  # the class's only column is NaN: 0
    assert scores[2, r] == 0.5  # per file: a code absent from it does not count

    assert binary.sum() == 3 and np.count_nonzero(scores[3]) == 0  # "12345" ignored
    assert len(problems) == 1 and "missing.csv" in problems[0]


def test_load_labels_reads_both_dx_spellings(tmp_path: Path, samples_dir: Path) -> None:
    text = (
        (samples_dir / "A0002.hea")
        .read_text()
        .replace("#Dx: 426783006", "# Dx: 59118001, 164889003")
    )
    write_file(tmp_path / "X1.hea", text)
    write_file(tmp_path / "X2.hea", text.replace("# Dx: 59118001, 164889003", "#Dx: 426783006"))
    write_file(tmp_path / ".hidden.hea", "not a header")
    names, labels = load_labels(tmp_path)
    assert names == ["X1", "X2"]
    assert labels.tolist() == encode_labels([["713427006", "164889003"], [NORMAL_CLASS]]).tolist()
    # Only the comment lines count, as officially: a broken record line still gives its labels.
    write_file(tmp_path / "X3.hea", "X3 12 500\n# Dx: 164889003\n")
    names, labels = load_labels(tmp_path)
    assert names[-1] == "X3" and labels[-1].tolist() == encode_labels([["164889003"]])[0].tolist()


def test_legacy_normal_rule(tmp_path: Path, samples_dir: Path) -> None:
    """The mid-2020 loaders' rule, opt-in only: not part of the final official scorer."""
    for name in ("A0002", "HR00007", "Q0002"):  # NSR; LAD + NSR; an unscored code only
        shutil.copy(samples_dir / f"{name}.hea", tmp_path)
    _, plain = load_labels(tmp_path)
    names, ruled = load_labels(tmp_path, legacy_normal_rule=True)
    assert names == ["A0002", "HR00007", "Q0002"]
    assert plain[:, NORMAL].tolist() == [True, True, False]
    assert ruled[:, NORMAL].tolist() == [True, False, False]  # Q0002 has a positive code
    out = tmp_path / "out"
    write_output(out / "A0002.csv", "A0002", [NORMAL_CLASS], np.array([0]), np.array([0.1]))
    write_output(out / "HR00007.csv", "HR00007", ["12345"], np.array([1]), np.array([0.1]))
    binary, _, problems = load_outputs(out, names, legacy_normal_rule=True)
    assert binary[:, NORMAL].tolist() == [True, False, True]  # Q0002 missing: no positives
    assert len(problems) == 1
    assert not load_outputs(out, names)[0].any()  # by default, no rule


# --------------------------------------------------------------------------- command line


@pytest.fixture()
def label_dir(tmp_path: Path, samples_dir: Path) -> Path:
    folder = tmp_path / "labels"
    folder.mkdir()
    for name in SAMPLES:  # headers only: scoring needs no signals
        shutil.copy(samples_dir / f"{name}.hea", folder)
    return folder


def perfect_outputs(folder: Path, names: list[str], labels: np.ndarray, codes: list[str]) -> None:
    for name, row in zip(names, labels, strict=True):
        write_output(folder / f"{name}.csv", name, codes, row, row.astype(float))


def run_main(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[str, str]:
    assert main([str(a) for a in argv]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def values(stdout: str) -> np.ndarray:
    header, line = stdout.strip().splitlines()
    assert header == HEADER
    return np.array([float(v) for v in line.split(",")])


def test_cli_perfect_outputs(
    tmp_path: Path, label_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names, labels = load_labels(label_dir)
    assert names == SAMPLES
    assert labels[SAMPLES.index("A0001"), COL["713427006"]]  # 59118001 in the header
    assert labels[SAMPLES.index("JS20003"), COL["427172004"]]  # a "# Dx:" header
    out = tmp_path / "outputs"
    perfect_outputs(out, names, labels, list(SCORED_CLASSES))
    scores_csv = tmp_path / "scores" / "scores.csv"
    stdout, stderr = run_main(capsys, label_dir, out, scores_csv)
    assert stderr == ""
    assert stdout.splitlines()[1].split(",")[-1] == "1.000000"
    assert values(stdout)[2] == 1.0  # accuracy
    assert scores_csv.read_text() == stdout


def test_cli_equivalent_codes_in_outputs(
    tmp_path: Path, label_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names, labels = load_labels(label_dir)
    # Write the non-representative member of every equivalent pair instead.
    other = {rep: code for code, rep in EQUIVALENT_CODES.items()}
    codes = [other.get(c, c) for c in SCORED_CLASSES]
    assert "59118001" in codes and "713427006" not in codes
    out = tmp_path / "outputs"
    perfect_outputs(out, names, labels, codes)
    stdout, _ = run_main(capsys, label_dir, out)
    assert stdout.splitlines()[1].split(",")[-1] == "1.000000"


def test_cli_malformed_output_is_reported_and_scored_negative(
    tmp_path: Path, label_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names, labels = load_labels(label_dir)
    rng = np.random.default_rng(0)
    probs = np.where(labels, rng.uniform(0.3, 1, labels.shape), rng.uniform(0, 0.7, labels.shape))
    binary = probs >= 0.5
    out = tmp_path / "outputs"
    for name, b, p in zip(names, binary, probs, strict=True):
        write_output(out / f"{name}.csv", name, SCORED_CLASSES, b, p)
    bad = SAMPLES.index("E00005")
    write_file(out / "E00005.csv", "#E00005\n164889003,426783006\n1\n0.9,0.1\n")
    (out / "HR00007.csv").unlink()
    missing = SAMPLES.index("HR00007")
    stdout, stderr = run_main(capsys, label_dir, out)
    lines = stderr.strip().splitlines()
    assert len(lines) == 2
    assert str(out / "E00005.csv") in lines[0] and "formatting error" in lines[0]
    assert str(out / "HR00007.csv") in lines[1] and "missing" in lines[1]
    binary[[bad, missing]] = False
    probs[[bad, missing]] = 0.0
    expected = metrics.evaluate(labels, probs, binary)
    np.testing.assert_allclose(values(stdout), np.array(list(expected.values())), atol=5e-7)
    assert stdout == format_scores(expected)


def test_cli_missing_directories(
    tmp_path: Path, label_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in ([tmp_path / "nope", tmp_path], [label_dir, tmp_path / "nope"]):
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in argv])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "nope" in err


def test_cli_subprocess(tmp_path: Path, label_dir: Path) -> None:
    names, labels = load_labels(label_dir)
    out = tmp_path / "outputs"
    perfect_outputs(out, names, labels, list(SCORED_CLASSES))
    src = Path(__file__).resolve().parents[2] / "src"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "ecgtricks.evaluate", str(label_dir), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == HEADER
    assert proc.stdout.splitlines()[1].endswith(",1.000000")


def test_cli_legacy_normal_rule_is_opt_in(
    tmp_path: Path, label_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names, labels = load_labels(label_dir)
    rng = np.random.default_rng(1)
    probs = np.where(labels, rng.uniform(0.3, 1, labels.shape), rng.uniform(0, 0.7, labels.shape))
    out = tmp_path / "outputs"
    for name, p in zip(names, probs, strict=True):
        write_output(out / f"{name}.csv", name, SCORED_CLASSES, p >= 0.5, p)
    stdout, _ = run_main(capsys, label_dir, out)
    np.testing.assert_allclose(
        values(stdout), list(metrics.evaluate(labels, probs, probs >= 0.5).values()), atol=5e-7
    )
    legacy, _ = run_main(capsys, label_dir, out, "--legacy-normal-rule")
    _, ruled_labels = load_labels(label_dir, legacy_normal_rule=True)
    ruled_binary, scores, _ = load_outputs(out, names, legacy_normal_rule=True)
    expected = metrics.evaluate(ruled_labels, scores, ruled_binary)
    np.testing.assert_allclose(values(legacy), np.array(list(expected.values())), atol=5e-7)
    assert not np.array_equal(ruled_labels, labels)  # the rule changed something here
    assert legacy != stdout
