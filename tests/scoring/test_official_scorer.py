"""``python -m ecgtricks.evaluate`` against the final official 2020 scorer itself.

The oracle is ``evaluate_12ECG_score.py`` of physionetchallenges/evaluation-2020 at its final
revision, unmodified, read from ``../shared/reference/official-scorer-2020`` (never copied into
the project) and called as its README says: imported, with its folder as the working directory.
It is given only folders it accepts: ``#Dx`` headers (it reads no ``# Dx:`` label) and an output
file for every header (it aborts on a missing one). Within that, the output folders are fuzzed:
missing and duplicated codes, both codes of an equivalent pair, unscored codes, NaN/inf/garbage
scores, odd binary tokens, comment and blank lines, CRLF, trailing commas, extra lines and
files with formatting errors.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ecgtricks.evaluate import HEADER, main
from ecgtricks.scoring import metrics
from ecgtricks.scoring.label_files import load_labels
from ecgtricks.scoring.labels import (
    ALL_SCORED_CODES,
    EQUIVALENT_CODES,
    SCORED_CLASSES,
    weight_matrix,
)
from ecgtricks.scoring.outputs import load_outputs

KEYS = ("auroc", "auprc", "accuracy", "f_measure", "fbeta", "gbeta", "challenge_score")
UNSCORED = ["164865005", "425856008", "55827005", "164873001", "999999", "67741000119109"]
PAIRS = [(rep, code) for code, rep in EQUIVALENT_CODES.items()]


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@pytest.fixture(scope="session")
def official(reference_dir: Path) -> ModuleType:
    script = reference_dir / "official-scorer-2020" / "evaluate_12ECG_score.py"
    if not script.is_file():
        pytest.skip(f"the official scorer is not at {script}")
    spec = importlib.util.spec_from_file_location("official_evaluate_12ECG_score", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official_scores(official: ModuleType, label_dir: Path, output_dir: Path) -> dict[str, float]:
    folder = Path(official.__file__).parent
    with working_directory(folder), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of all-NaN classes
        result = official.evaluate_12ECG_score(str(label_dir), str(output_dir))
    _, auroc, auprc, _, _, accuracy, f_measure, _, fbeta, gbeta, challenge = result
    values = (auroc, auprc, accuracy, f_measure, fbeta, gbeta, challenge)
    return dict(zip(KEYS, (float(v) for v in values), strict=True))


def ours(label_dir: Path, output_dir: Path) -> dict[str, float]:
    names, labels = load_labels(label_dir)
    binary, scores, _ = load_outputs(output_dir, names)
    return metrics.evaluate(labels, scores, binary)


def cli(capsys: pytest.CaptureFixture[str], label_dir: Path, output_dir: Path) -> dict[str, float]:
    assert main([str(label_dir), str(output_dir)]) == 0
    header, line = capsys.readouterr().out.strip().splitlines()
    assert header == HEADER
    return dict(zip(KEYS, (float(v) for v in line.split(",")), strict=True))


def max_difference(got: dict[str, float], expected: dict[str, float]) -> float:
    worst = 0.0
    for key in KEYS:
        if math.isnan(expected[key]) or math.isnan(got[key]):
            assert math.isnan(expected[key]) and math.isnan(got[key]), key
            continue
        worst = max(worst, abs(got[key] - expected[key]))
    return worst


@pytest.fixture(scope="module")
def dx_labels(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared headers written ``#Dx:`` (the official reader's spelling): 70 of 120."""
    folder = tmp_path_factory.mktemp("dx-labels")
    for header in sorted(samples_dir.glob("*.hea")):
        if any(line.startswith("#Dx") for line in header.read_text().splitlines()):
            shutil.copy(header, folder)
    assert len(list(folder.glob("*.hea"))) == 70
    return folder


def fuzzed_labels(folder: Path, n: int, rng: np.random.Generator) -> Path:
    """Headers whose Dx lists mix scored codes, both codes of a pair, unscored codes or none."""
    folder.mkdir(parents=True)
    for i in range(n):
        k = int(rng.integers(0, 4))
        codes = list(rng.choice(ALL_SCORED_CODES, size=k, replace=False))
        codes += list(rng.choice(UNSCORED, size=int(rng.integers(0, 2)), replace=False))
        codes = [codes[j] for j in rng.permutation(len(codes))]
        # Separators as written in the wild; the official reader splits on commas only.
        sep = str(rng.choice([",", ", ", " , ", ";", " "], p=[0.7, 0.1, 0.1, 0.05, 0.05]))
        (folder / f"R{i:04d}.hea").write_text(
            f"R{i:04d} 12 500 5000\n#Age: 60\n#Sex: Male\n#Dx: {sep.join(codes)}\n#Rx: Unknown\n"
        )
    return folder


BINARY_TOKENS = ["0", "1", "True", "False", "true", "false", "t", "f", "T", "F", "yes", "1.0", ""]
SCORE_TOKENS = ["nan", "NaN", "inf", "-inf", "high", "", " 0.5 ", "1e-3", "1_0"]


def fuzzed_outputs(folder: Path, names: list[str], rng: np.random.Generator) -> Path:
    """One output file per record, every departure from the clean format at some rate."""
    folder.mkdir(parents=True)
    for i, name in enumerate(names):
        codes = [c for c in SCORED_CLASSES if rng.random() > 0.1]  # some codes missing
        for rep, other in PAIRS:
            choice = rng.choice(["rep", "other", "both", "none"]) if i else "both"
            if choice in ("other", "none") and rep in codes:
                codes.remove(rep)
            if choice in ("other", "both"):
                codes.append(other)
        codes += list(rng.choice(UNSCORED, size=int(rng.integers(0, 3)), replace=False))
        if rng.random() < 0.2:  # a code twice
            codes.append(codes[int(rng.integers(len(codes)))])
        codes = [codes[j] for j in rng.permutation(len(codes))]
        c = len(codes)
        probs = rng.random(c)
        if rng.random() < 0.3:
            probs = np.round(probs, 1)  # ties
        score_tokens = [repr(float(p)) for p in probs]
        binary_tokens = ["1" if p >= rng.choice([0.3, 0.5, 0.9]) else "0" for p in probs]
        for j in range(c):
            if rng.random() < 0.04:
                score_tokens[j] = str(rng.choice(SCORE_TOKENS))
        twice = [j for j in range(c) if codes.index(codes[j]) != j]
        if twice and rng.random() < 0.5:  # inf and -inf averaged: NaN, then 0
            score_tokens[twice[0]], score_tokens[codes.index(codes[twice[0]])] = "inf", "-inf"
        for j in range(c):
            if rng.random() < 0.04:
                binary_tokens[j] = str(rng.choice(BINARY_TOKENS))
        lines = [",".join(codes), ",".join(binary_tokens), ",".join(score_tokens)]
        if rng.random() < 0.1:
            lines = [line + "," for line in lines]  # trailing commas on every line: accepted
        roll = rng.random()
        if roll < 0.03:
            lines[1] += ",1"  # one line longer: a formatting error
        elif roll < 0.05:
            lines = lines[:2]  # scores missing: a formatting error
        elif roll < 0.07:
            lines.append("0.1,0.2")  # an extra line after the scores: ignored
        if rng.random() < 0.9:
            lines.insert(0, f"#{name}")
        if rng.random() < 0.1:
            lines.insert(int(rng.integers(len(lines) + 1)), "# a comment")
        if rng.random() < 0.1:
            lines.insert(int(rng.integers(len(lines) + 1)), "   ")
        end = str(rng.choice(["\n", "\r\n", "\r"], p=[0.8, 0.15, 0.05]))
        text = end.join(lines) + (end if rng.random() < 0.9 else "")
        if rng.random() < 0.01:
            text = ""
        (folder / f"{name}.csv").write_bytes(text.encode())
    return folder


# --------------------------------------------------------------------------- tests


def test_weights_are_the_official_ones(official: ModuleType, reference_dir: Path) -> None:
    folder = Path(official.__file__).parent
    with working_directory(folder):
        classes, weights = official.load_weights("weights.csv", [list(p) for p in PAIRS])
    index = [classes.index(c) for c in SCORED_CLASSES]
    assert sorted(classes) == sorted(SCORED_CLASSES)
    np.testing.assert_array_equal(weights[np.ix_(index, index)], weight_matrix())


@pytest.mark.parametrize("seed", range(8))
def test_shared_headers_fuzzed_outputs(
    official: ModuleType, dx_labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    names = sorted(p.stem for p in dx_labels.glob("*.hea"))
    out = fuzzed_outputs(tmp_path / "outputs", names, np.random.default_rng(seed))
    expected = official_scores(official, dx_labels, out)
    assert max_difference(ours(dx_labels, out), expected) <= 1e-10
    assert max_difference(cli(capsys, dx_labels, out), expected) <= 1e-6  # printed with 6 decimals


@pytest.mark.parametrize("seed", range(6))
def test_fuzzed_labels_fuzzed_outputs(
    official: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    rng = np.random.default_rng(100 + seed)
    labels = fuzzed_labels(tmp_path / "labels", int(rng.integers(5, 60)), rng)
    names = sorted(p.stem for p in labels.glob("*.hea"))
    out = fuzzed_outputs(tmp_path / "outputs", names, rng)
    expected = official_scores(official, labels, out)
    assert max_difference(ours(labels, out), expected) <= 1e-10
    assert max_difference(cli(capsys, labels, out), expected) <= 1e-6


def test_no_label_at_all_scores_zero_as_officially(official: ModuleType, tmp_path: Path) -> None:
    """Correct and inactive scores coincide: the official metric is 0, not undefined."""
    labels = tmp_path / "labels"
    labels.mkdir()
    for i in range(4):
        (labels / f"R{i}.hea").write_text(f"R{i} 12 500 5000\n#Dx: 999999\n")
    out = fuzzed_outputs(tmp_path / "outputs", [f"R{i}" for i in range(4)], np.random.default_rng(0))
    expected = official_scores(official, labels, out)
    assert expected["challenge_score"] == 0.0
    assert max_difference(ours(labels, out), expected) <= 1e-10


def test_dx_with_a_space_reads_as_the_official_spelling(
    official: ModuleType, samples_dir: Path, tmp_path: Path
) -> None:
    """Departure 1: ``# Dx:`` headers (50 shared ones) give the labels the official scorer reads
    from the same header written ``#Dx:``."""
    spaced, plain = tmp_path / "spaced", tmp_path / "plain"
    spaced.mkdir()
    plain.mkdir()
    for header in sorted(samples_dir.glob("*.hea")):
        text = header.read_text()
        if "# Dx:" in text:
            (spaced / header.name).write_text(text)
            (plain / header.name).write_text(text.replace("# Dx:", "#Dx:"))
    names = sorted(p.stem for p in spaced.glob("*.hea"))
    assert len(names) == 50
    out = fuzzed_outputs(tmp_path / "outputs", names, np.random.default_rng(5))
    assert max_difference(ours(spaced, out), official_scores(official, plain, out)) <= 1e-10


def test_missing_output_scores_as_an_empty_file_does_officially(
    official: ModuleType, dx_labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Departure 2: the official script aborts on a missing file; here it is reported and scored
    as the official script scores a file with a formatting error (all negative)."""
    names = sorted(p.stem for p in dx_labels.glob("*.hea"))
    out = fuzzed_outputs(tmp_path / "outputs", names, np.random.default_rng(11))
    (out / f"{names[3]}.csv").write_text("")
    expected = official_scores(official, dx_labels, out)
    (out / f"{names[3]}.csv").unlink()
    assert max_difference(cli(capsys, dx_labels, out), expected) <= 1e-6
    main([str(dx_labels), str(out)])
    err = capsys.readouterr().err
    assert f"{names[3]}.csv: output file is missing (scored as all negative)" in err
