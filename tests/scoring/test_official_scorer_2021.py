"""``python -m ecgtricks.evaluate --edition 2021`` against the final official 2021 scorer itself.

The oracle is ``evaluate_model.py`` (with ``helper_code.py``) of physionetchallenges/
evaluation-2021 at its final revision, unmodified, read from
``../shared/reference/official-scorer-2021`` (never copied into the project) and called as its
README says: imported, with its folder as the working directory. It is given only folders it
accepts: an output file of at least four lines for every header, every scored class with a
binary output and a score. Within that, labels and outputs are fuzzed: the real sample headers
and synthetic ones covering all 30 scored codes (26 classes: BBB 6374002, PRWP 365413008, CLBBB
733534002 ...), several ``#Dx`` lines, records with unscored codes only; output files with codes
in any order, an equivalent pair written once as ``a|b`` or ``b|a`` or as two codes, a code
twice, entries joining codes of two classes or a scored and an unscored code, missing codes,
all-zero and all-one binary columns, constant score columns, NaN/inf/garbage scores, odd
binary tokens (``1.0`` is positive in 2021), trailing commas, extra fields and lines, no
``#`` on the record line, CRLF and CR line ends. Every score (and every per-class AUROC,
AUPRC and F-measure) is compared, to 1e-10 from the library and 1e-6 from the command line.
The departures -- ``# Dx:`` headers read, missing or unreadable output files scored as all
negative -- are compared with the official result for the headers written ``#Dx:`` and for
an output file that the official reader scores as all negative.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ecgtricks.evaluate import HEADERS, main
from ecgtricks.scoring import edition, metrics
from ecgtricks.scoring.label_files import load_labels
from ecgtricks.scoring.outputs import load_outputs, read_output, write_output

ED = edition(2021)
KEYS = ED.scores  # auroc, auprc, accuracy, f_measure, challenge_score
PER_CLASS = ("auroc_classes", "auprc_classes", "f_measure_classes")
UNSCORED = ["164865005", "55827005", "164951009", "251120003", "999999", "67741000119109"]
GROUPS = [c for c in ED.classes if len(c) > 1]  # the four sets of equivalent codes
BINARY_TOKENS = ["True", "true", "T", "t", "False", "false", "F", "f", "1.0", "1e0", "+1",
                 "01", "yes", "", "nan", "2", "-1", "0.0", "inf"]
SCORE_TOKENS = ["nan", "NaN", "inf", "-inf", "high", "", " 0.5 ", "1e-3", "1_0", "1e999"]


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
    """``evaluate_model`` of the 2021 scorer; its ``helper_code`` import is satisfied from the
    same folder and removed from ``sys.modules`` again."""
    folder = reference_dir / "official-scorer-2021"
    script, helper = folder / "evaluate_model.py", folder / "helper_code.py"
    if not (script.is_file() and helper.is_file() and (folder / "weights.csv").is_file()):
        pytest.skip(f"the official 2021 scorer is not at {folder}")
    previous = sys.modules.get("helper_code")
    spec = importlib.util.spec_from_file_location("helper_code", helper)
    helper_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper_module)
    sys.modules["helper_code"] = helper_module
    try:
        spec = importlib.util.spec_from_file_location("official_evaluate_model_2021", script)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        if previous is None:
            sys.modules.pop("helper_code", None)
        else:
            sys.modules["helper_code"] = previous
    module.helper_code = helper_module
    return module


def official_scores(official: ModuleType, label_dir: Path, output_dir: Path) -> dict:
    folder = Path(official.__file__).parent
    with working_directory(folder), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = official.evaluate_model(str(label_dir), str(output_dir))
    classes, auroc, auprc, auroc_c, auprc_c, accuracy, f_measure, f_measure_c, challenge = result
    assert classes == [set(c) for c in ED.classes]  # the same classes, in the same order
    values = dict(zip(KEYS, (float(v) for v in (auroc, auprc, accuracy, f_measure, challenge)),
                      strict=True))
    values.update(auroc_classes=auroc_c, auprc_classes=auprc_c, f_measure_classes=f_measure_c)
    return values


def ours(label_dir: Path, output_dir: Path) -> dict:
    names, labels = load_labels(label_dir, edition=2021)
    binary, scores, _ = load_outputs(output_dir, names, edition=2021)
    values = metrics.evaluate(labels, scores, binary, edition=2021)
    _, _, auroc_c, auprc_c = metrics.auroc_auprc(labels, scores)
    values.update(auroc_classes=auroc_c, auprc_classes=auprc_c,
                  f_measure_classes=metrics.f_measure(labels, binary)[1])
    return values


def cli(capsys: pytest.CaptureFixture[str], label_dir: Path, output_dir: Path) -> dict:
    assert main([str(label_dir), str(output_dir), "--edition", "2021"]) == 0
    header, line = capsys.readouterr().out.strip().splitlines()
    assert header == HEADERS[2021] == "AUROC,AUPRC,Accuracy,F-measure,Challenge metric"
    return dict(zip(KEYS, (float(v) for v in line.split(",")), strict=True))


def differences(got: dict, expected: dict) -> dict[str, float]:
    """Largest absolute difference per score (NaN where both are NaN: 0; NaN on one side fails)."""
    worst = {}
    for key in got:
        a = np.atleast_1d(np.asarray(got[key], dtype=np.float64))
        b = np.atleast_1d(np.asarray(expected[key], dtype=np.float64))
        assert a.shape == b.shape, key
        assert np.array_equal(np.isnan(a), np.isnan(b)), key
        both = ~np.isnan(a)
        worst[key] = float(np.max(np.abs(a[both] - b[both]), initial=0.0))
    return worst


def max_difference(got: dict, expected: dict) -> float:
    return max(differences(got, expected).values())


# --------------------------------------------------------------------------- fuzzed folders


def header_text(name: str, dx_lines: list[str]) -> str:
    return f"{name} 12 500 5000\n#Age: 60\n#Sex: Male\n" + "".join(f"{d}\n" for d in dx_lines) + "#Rx: Unknown\n"


def fuzzed_labels(folder: Path, n: int, rng: np.random.Generator) -> Path:
    """Headers: first one per scored code (all 30, so all 26 classes), then random lists of
    scored codes (equivalents both ways), unscored codes or none, split over one or two
    ``#Dx`` lines (the 2021 reader reads every one)."""
    folder.mkdir(parents=True)
    lists = [[code] for code in ED.all_codes]
    for _ in range(n):
        codes = list(rng.choice(ED.all_codes, size=int(rng.integers(0, 5)), replace=False))
        codes += list(rng.choice(UNSCORED, size=int(rng.integers(0, 3)), replace=False))
        lists.append([codes[j] for j in rng.permutation(len(codes))])
    for i, codes in enumerate(lists):
        sep = str(rng.choice([",", ", ", " , ", ";", " "], p=[0.7, 0.1, 0.1, 0.05, 0.05]))
        roll = rng.random() if i >= len(ED.all_codes) else 1.0
        if roll < 0.15 and len(codes) > 1:  # two Dx lines: the union is read
            cut = int(rng.integers(1, len(codes)))
            dx = [f"#Dx: {sep.join(codes[:cut])}", f"#Dx: {sep.join(codes[cut:])}"]
        elif roll < 0.18:  # no ": " after #Dx: no label, officially
            dx = [f"#Dx:{sep.join(codes)}"]
        else:
            dx = [f"#Dx: {sep.join(codes)}"]
        (folder / f"R{i:04d}.hea").write_text(header_text(f"R{i:04d}", dx))
    return folder


def column_plan(rng: np.random.Generator) -> dict[int, str]:
    """Per class, for a whole output folder: all-zero or all-one binary outputs, constant scores."""
    plan = {}
    for j in range(ED.n_classes):
        roll = rng.random()
        if roll < 0.12:
            plan[j] = "all0"
        elif roll < 0.22:
            plan[j] = "all1"
        elif roll < 0.3:
            plan[j] = "constant"
    return plan


def fuzzed_outputs(
    folder: Path, names: list[str], rng: np.random.Generator, labels: np.ndarray | None = None
) -> Path:
    """One output file per record that the 2021 reader accepts, every departure from the clean
    format at some rate. With ``labels`` (N, 26), half the files score the labels with noise
    (so that accuracy and the challenge metric leave their floor)."""
    folder.mkdir(parents=True)
    plan = column_plan(rng)
    constant = float(rng.random())
    for i, name in enumerate(names):
        entries: list[str] = []
        for j, codes in enumerate(ED.classes):
            if rng.random() < 0.08 and j not in plan:
                continue  # a class missing from the file
            if len(codes) == 1:
                entries.append(codes[0])
                continue
            rep, other = codes
            how = "joined" if i == 0 else str(rng.choice(["rep", "other", "both", "joined", "reversed", "none"]))
            if how == "none" and j in plan:
                how = "rep"
            entries += {"rep": [rep], "other": [other], "both": [rep, other], "joined": [f"{rep}|{other}"],
                        "reversed": [f"{other}|{rep}"], "none": []}[how]
        entries += list(rng.choice(UNSCORED, size=int(rng.integers(0, 3)), replace=False))
        if rng.random() < 0.05:  # a scored code joined with an unscored one
            entries[0] = f"{entries[0]}|999999"
        if rng.random() < 0.04 and 0 not in plan and 1 not in plan:
            entries.append(f"{ED.codes[0]}|{ED.codes[1]}")  # two classes joined: counts for both
        if rng.random() < 0.03:  # padded: the official reader does not read " 59118001"
            entries.append("713427006 | 59118001")
        if rng.random() < 0.2 and entries:  # a code twice
            entries.append(entries[int(rng.integers(len(entries)))])
        entries = [entries[j] for j in rng.permutation(len(entries))]
        columns = [{ED.column[p] for p in entry.split("|") if p in ED.column} for entry in entries]
        c = len(entries)
        probs = rng.random(c)
        if labels is not None and rng.random() < 0.5:
            truth = np.array([any(labels[i, j] for j in cols) for cols in columns], dtype=float)
            probs = 0.6 * truth + 0.4 * probs
        if rng.random() < 0.3:
            probs = np.round(probs, 1)  # ties
        binary = probs >= float(rng.choice([0.3, 0.5, 0.9]))
        forced = np.zeros(c, dtype=bool)
        for k, cols in enumerate(columns):
            for col in cols:
                forced[k] |= col in plan
                if plan.get(col) == "all0":
                    binary[k] = False
                elif plan.get(col) == "all1":
                    binary[k] = True
                elif plan.get(col) == "constant":
                    probs[k] = constant
        score_tokens = [repr(float(p)) for p in probs]
        binary_tokens = ["1" if b else "0" for b in binary]
        for k in range(c):
            if rng.random() < 0.04 and not forced[k]:
                score_tokens[k] = str(rng.choice(SCORE_TOKENS))
            if rng.random() < 0.04 and not forced[k]:
                binary_tokens[k] = str(rng.choice(BINARY_TOKENS))
        lines = [",".join(entries), ",".join(binary_tokens), ",".join(score_tokens)]
        if rng.random() < 0.1:
            lines = [line + "," for line in lines]  # trailing commas on every line
        roll = rng.random()
        if roll < 0.05:
            lines[0] += ",999999"  # one more (unscored) class than outputs: read
        elif roll < 0.1:
            lines[1] += ",1"  # more outputs than classes: ignored
            lines[2] += ",0.25"
        elif roll < 0.15:
            lines.append("0.1,0.2")  # an extra line after the scores: ignored
        first = str(rng.choice([f"#{name}", name, "#", f"# {name} "], p=[0.9, 0.04, 0.03, 0.03]))
        lines.insert(0, first)
        end = str(rng.choice(["\n", "\r\n", "\r"], p=[0.8, 0.15, 0.05]))
        text = end.join(lines) + (end if rng.random() < 0.9 else "")
        (folder / f"{name}.csv").write_bytes(text.encode())
    return folder


ALL_NEGATIVE = "#{name}\n\n\n\n"  # what the official reader scores as all negative


@pytest.fixture(scope="module")
def dx_labels(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared headers written ``#Dx:`` (the official reader's spelling): 70 of 120."""
    folder = tmp_path_factory.mktemp("dx-labels-2021")
    for header in sorted(samples_dir.glob("*.hea")):
        if any(line.startswith("#Dx") for line in header.read_text().splitlines()):
            shutil.copy(header, folder)
    assert len(list(folder.glob("*.hea"))) == 70
    return folder


# --------------------------------------------------------------------------- tests


def test_classes_and_weights_are_the_official_ones(official: ModuleType) -> None:
    folder = Path(official.__file__).parent
    with working_directory(folder):
        classes, weights = official.load_weights("weights.csv")
    assert classes == [set(c) for c in ED.classes]
    np.testing.assert_array_equal(weights, ED.weight_matrix())  # value for value


@pytest.mark.parametrize("seed", range(8))
def test_shared_headers_fuzzed_outputs(
    official: ModuleType, dx_labels: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    names, y = load_labels(dx_labels, edition=2021)
    out = fuzzed_outputs(tmp_path / "outputs", names, np.random.default_rng(2021 + seed), y)
    expected = official_scores(official, dx_labels, out)
    assert max_difference(ours(dx_labels, out), expected) <= 1e-10
    assert max_difference(cli(capsys, dx_labels, out), expected) <= 1e-6  # printed with 6 decimals


@pytest.mark.parametrize("seed", range(8))
def test_fuzzed_labels_fuzzed_outputs(
    official: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: int
) -> None:
    rng = np.random.default_rng(3000 + seed)
    labels = fuzzed_labels(tmp_path / "labels", int(rng.integers(5, 80)), rng)
    names, y = load_labels(labels, edition=2021)
    out = fuzzed_outputs(tmp_path / "outputs", names, rng, y)
    expected = official_scores(official, labels, out)
    assert max_difference(ours(labels, out), expected) <= 1e-10
    assert max_difference(cli(capsys, labels, out), expected) <= 1e-6


def test_every_class_has_labels_in_the_synthetic_sets(tmp_path: Path) -> None:
    labels = fuzzed_labels(tmp_path / "labels", 0, np.random.default_rng(0))
    _, y = load_labels(labels, edition=2021)
    assert y.shape == (30, 26) and y.any(axis=0).all()
    for code in ("6374002", "365413008", "733534002", "164909002"):
        assert y[:, ED.column[code]].any()


def test_no_scored_label_scores_zero_as_officially(official: ModuleType, tmp_path: Path) -> None:
    """Correct and inactive scores coincide: the official metric is 0, not undefined."""
    labels = tmp_path / "labels"
    labels.mkdir()
    for i in range(5):
        (labels / f"R{i}.hea").write_text(header_text(f"R{i}", [f"#Dx: {UNSCORED[i]}"]))
    names = [f"R{i}" for i in range(5)]
    out = fuzzed_outputs(tmp_path / "outputs", names, np.random.default_rng(0))
    expected = official_scores(official, labels, out)
    assert expected["challenge_score"] == 0.0 and math.isnan(expected["auroc"])
    assert max_difference(ours(labels, out), expected) <= 1e-10


def test_dx_with_a_space_reads_as_the_official_spelling(
    official: ModuleType, samples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Departure: ``# Dx:`` headers (50 of the 120 shared ones) give the labels the official
    scorer reads from the same header written ``#Dx:`` (it reads none from ``# Dx:``)."""
    spaced, plain = tmp_path / "spaced", tmp_path / "plain"
    spaced.mkdir()
    plain.mkdir()
    for header in sorted(samples_dir.glob("*.hea")):
        text = header.read_text()
        (spaced / header.name).write_text(text)
        (plain / header.name).write_text(text.replace("# Dx:", "#Dx:"))
    names, y = load_labels(spaced, edition=2021)
    assert len(names) == 120
    for seed in range(2):
        out = fuzzed_outputs(tmp_path / f"outputs{seed}", names, np.random.default_rng(7 + seed), y)
        expected = official_scores(official, plain, out)
        assert max_difference(ours(spaced, out), expected) <= 1e-10
        assert max_difference(cli(capsys, spaced, out), expected) <= 1e-6


@pytest.mark.parametrize(
    "text",
    [
        None,  # missing: the official scorer raises IOError
        "",  # empty: it raises UnboundLocalError
        "#{name}\n164889003\n1\n",  # three lines: likewise
        "#{name}\n164889003,426783006\n1,1\n0.5\n",  # a scored class without a score: IndexError
        b"#{name}\n164889003\n\xff\n0.5\n",  # not UTF-8: UnicodeDecodeError
    ],
)
def test_files_the_official_reader_stops_on_score_as_all_negative(
    official: ModuleType,
    dx_labels: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str | bytes | None,
) -> None:
    """Departure: reported on stderr and scored as the official reader scores a file that
    matches no class (all negative)."""
    names = sorted(p.stem for p in dx_labels.glob("*.hea"))
    out = fuzzed_outputs(tmp_path / "outputs", names, np.random.default_rng(11))
    target = out / f"{names[3]}.csv"
    target.write_text(ALL_NEGATIVE.format(name=names[3]))
    expected = official_scores(official, dx_labels, out)
    if text is None:
        target.unlink()
    elif isinstance(text, bytes):
        target.write_bytes(text.replace(b"{name}", names[3].encode()))
    else:
        target.write_text(text.format(name=names[3]))
    assert max_difference(ours(dx_labels, out), expected) <= 1e-10
    assert max_difference(cli(capsys, dx_labels, out), expected) <= 1e-6
    main([str(dx_labels), str(out), "--edition", "2021"])
    err = capsys.readouterr().err
    assert f"{names[3]}.csv" in err and "scored as all negative" in err


def test_written_files_read_as_officially(official: ModuleType, dx_labels: Path, tmp_path: Path) -> None:
    """``write_output(..., edition=2021)``: classes as ``Edition.classes`` (``a|b``), NaN
    probabilities; the official readers and ours read the same arrays."""
    names = sorted(p.stem for p in dx_labels.glob("*.hea"))
    rng = np.random.default_rng(5)
    out = tmp_path / "outputs"
    written = {}
    for name in names:
        p = rng.random(ED.n_classes)
        p[rng.random(ED.n_classes) < 0.05] = np.nan
        b = p >= 0.5
        classes = list(ED.classes)
        order = rng.permutation(len(classes))
        write_output(out / f"{name}.csv", name, [classes[j] for j in order], b[order], p[order],
                     edition=2021)
        written[name] = (b, p)
    files = [str(out / f"{name}.csv") for name in names]
    binary, scalar = official.load_classifier_outputs(files, [set(c) for c in ED.classes])
    got_binary, got_scores, problems = load_outputs(out, names, edition=2021)
    assert problems == []
    np.testing.assert_array_equal(got_binary, binary)
    np.testing.assert_array_equal(got_scores, scalar)
    for name in names:
        record, classes, b, p = read_output(out / f"{name}.csv", edition=2021)
        assert record == name and "733534002|164909002" in classes
        col = [ED.column[c.split("|")[0]] for c in classes]
        np.testing.assert_array_equal(b, written[name][0][col])
        np.testing.assert_array_equal(p, written[name][1][col])  # NaN kept, as written
        assert official.helper_code.load_outputs(str(out / f"{name}.csv"))[1] == classes
