"""The project's label tables against the challenge's reference files, and label encoding."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.scoring import edition, labels
from ecgtricks.scoring.labels import (
    ABBREVIATIONS,
    ALL_SCORED_CODES,
    CODE_ABBREVIATIONS,
    DESCRIPTIONS,
    EQUIVALENT_CODES,
    NORMAL_CLASS,
    SCORED_CLASSES,
    encode_labels,
    full_weight_matrix,
    weight_matrix,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REFERENCE = SHARED / "reference"
SRC = Path(labels.__file__).resolve().parent


@pytest.fixture(scope="module")
def reference() -> Path:
    if not (REFERENCE / "weights.csv").is_file():
        pytest.skip(
            f"challenge reference tables not found at {REFERENCE} (they live beside the checkout)"
        )
    return REFERENCE


def _read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return [[cell.strip() for cell in row] for row in csv.reader(f) if row]


def _reference_weights(reference: Path) -> tuple[list[str], np.ndarray]:
    rows = _read_rows(reference / "weights.csv")
    return rows[0][1:], np.array([[float(v) for v in row[1:]] for row in rows[1:]])


def _reference_mapping(reference: Path, name: str) -> list[dict[str, str]]:
    with (reference / name).open(newline="") as f:
        return list(csv.DictReader(f))


def test_codes_and_weights_equal_reference(reference: Path) -> None:
    ref_codes, ref_w = _reference_weights(reference)
    codes, w = full_weight_matrix()
    assert list(codes) == ref_codes == list(ALL_SCORED_CODES)
    assert w.dtype == np.float64
    assert np.array_equal(w, ref_w)  # value for value, not approximately


def test_merged_weight_matrix_takes_representative_rows(reference: Path) -> None:
    ref_codes, ref_w = _reference_weights(reference)
    idx = [ref_codes.index(c) for c in SCORED_CLASSES]
    w = weight_matrix()
    assert w.shape == (24, 24) and w.dtype == np.float64
    assert np.array_equal(w, ref_w[np.ix_(idx, idx)])
    assert np.array_equal(np.diag(w), np.ones(24)) and np.array_equal(w, w.T)
    w[0, 1] = -1.0  # callers get copies
    assert weight_matrix()[0, 1] != -1.0


def test_abbreviations_descriptions_equal_reference(reference: Path) -> None:
    mapping = {
        r["SNOMED CT Code"]: r for r in _reference_mapping(reference, "dx_mapping_scored.csv")
    }
    assert set(mapping) == set(ALL_SCORED_CODES)
    for code in ALL_SCORED_CODES:
        assert CODE_ABBREVIATIONS[code] == mapping[code]["Abbreviation"]
        assert DESCRIPTIONS[code] == mapping[code]["Dx"]


def test_equivalences_match_reference_notes(reference: Path) -> None:
    # The notes say "We score A and B as the same diagnosis."; A is the representative.
    pairs = set()
    for row in _reference_mapping(reference, "dx_mapping_scored.csv"):
        found = re.findall(r"\d+", row.get("Notes") or "")
        if found:
            pairs.add(tuple(found))
    assert pairs == {
        ("713427006", "59118001"),
        ("284470004", "63593006"),
        ("427172004", "17338001"),
    }
    assert EQUIVALENT_CODES == {b: a for a, b in pairs}


def test_scored_classes() -> None:
    assert len(ALL_SCORED_CODES) == 27 and len(set(ALL_SCORED_CODES)) == 27
    assert SCORED_CLASSES == tuple(c for c in ALL_SCORED_CODES if c not in EQUIVALENT_CODES)
    assert len(SCORED_CLASSES) == 24 and NORMAL_CLASS in SCORED_CLASSES
    assert set(ABBREVIATIONS) == set(SCORED_CLASSES)
    assert ABBREVIATIONS["713427006"] == "RBBB" and ABBREVIATIONS["284470004"] == "PAC"
    assert ABBREVIATIONS["427172004"] == "PVC" and ABBREVIATIONS[NORMAL_CLASS] == "NSR"


def test_table_files_are_own_long_form() -> None:
    rows = _read_rows(SRC / "tables" / "scored_classes_2020.csv")
    assert rows[0] == ["code", "abbreviation", "description", "scored_as"] and len(rows) == 28
    rows = _read_rows(SRC / "tables" / "weights_2020.csv")
    assert rows[0] == ["code_a", "code_b", "weight"] and len(rows) == 1 + 27 * 26 // 2
    order = {c: i for i, c in enumerate(ALL_SCORED_CODES)}
    assert all(order[a] < order[b] for a, b, _ in rows[1:])


def test_package_code_names_no_workspace_paths() -> None:
    for path in [SRC / "labels.py", SRC / "editions.py", SRC / "metrics.py", SRC / "outputs.py",
                 *sorted((SRC / "tables").iterdir())]:
        if path.is_file():
            text = path.read_text()
            assert "/work" not in text and "shared/reference" not in text, path


def test_encode_labels_maps_equivalents_and_ignores_unscored(reference: Path) -> None:
    unscored = [
        r["SNOMED CT Code"] for r in _reference_mapping(reference, "dx_mapping_unscored.csv")
    ]
    assert not set(unscored) & set(ALL_SCORED_CODES)
    col = {c: i for i, c in enumerate(SCORED_CLASSES)}
    y = encode_labels(
        [
            ["59118001", unscored[0]],  # RBBB -> merged 713427006
            [],
            (c for c in ["426783006", " 17338001 "]),  # generator; whitespace tolerated
            unscored[:3],
            ["713427006", "59118001", "63593006"],
        ]
    )
    expected = np.zeros((5, 24), dtype=bool)
    expected[0, col["713427006"]] = True
    expected[2, [col["426783006"], col["427172004"]]] = True
    expected[4, [col["713427006"], col["284470004"]]] = True
    assert y.dtype == bool and np.array_equal(y, expected)


def test_encode_labels_edge_cases() -> None:
    assert encode_labels([]).shape == (0, 24)
    assert encode_labels([[int(SCORED_CLASSES[3])]])[0, 3]  # integer codes are read as strings
    with pytest.raises(TypeError):
        encode_labels(["426783006"])  # a str per recording, not a list of codes
    every = encode_labels([list(ALL_SCORED_CODES)])
    assert every.all()


# --------------------------------------------------------------------------- editions


REFERENCE_2021 = REFERENCE / "official-scorer-2021"
ED20, ED21 = edition(2020), edition(2021)


@pytest.fixture(scope="module")
def reference_2021() -> Path:
    if not (REFERENCE_2021 / "weights.csv").is_file():
        pytest.skip(f"the 2021 scorer's tables not found at {REFERENCE_2021}")
    return REFERENCE_2021


def test_edition_2020_is_the_module_level_tables() -> None:
    assert ED20.year == 2020 and edition("2020") is ED20 and edition(ED20) is ED20
    assert ED20.codes == SCORED_CLASSES and ED20.all_codes == ALL_SCORED_CODES
    assert dict(ED20.scored_as) == labels.SCORED_AS and dict(ED20.abbreviations) == ABBREVIATIONS
    assert dict(ED20.code_abbreviations) == CODE_ABBREVIATIONS
    assert dict(ED20.descriptions) == DESCRIPTIONS and ED20.normal_class == NORMAL_CLASS
    assert ED20.classes == tuple(
        (c, *(o for o, r in EQUIVALENT_CODES.items() if r == c)) for c in SCORED_CLASSES
    )
    assert np.array_equal(ED20.weight_matrix(), weight_matrix())
    assert np.array_equal(weight_matrix(edition=2020), weight_matrix())
    assert ED20.scores == ("auroc", "auprc", "accuracy", "f_measure", "fbeta", "gbeta", "challenge_score")
    assert ED21.scores == ("auroc", "auprc", "accuracy", "f_measure", "challenge_score")
    with pytest.raises(ValueError, match="2020, 2021"):
        edition(2019)
    with pytest.raises(ValueError):
        ED20.weights[0, 0] = 2.0  # read-only; weight_matrix() gives copies


def _reference_2021_weights(reference_2021: Path) -> tuple[list[str], np.ndarray]:
    rows = _read_rows(reference_2021 / "weights.csv")
    return rows[0][1:], np.array([[float(v) for v in row[1:]] for row in rows[1:]])


def test_2021_classes_and_weights_equal_reference(reference_2021: Path) -> None:
    ref_classes, ref_w = _reference_2021_weights(reference_2021)
    assert ["|".join(c) for c in ED21.classes] == ref_classes  # order and representative
    assert len(ED21.classes) == 26 and len(ED21.all_codes) == 30 == len(set(ED21.all_codes))
    w = weight_matrix(edition=2021)
    assert w.dtype == np.float64 and np.array_equal(w, ref_w)  # value for value
    assert ED21.normal_class == NORMAL_CLASS and (NORMAL_CLASS,) in ED21.classes


def test_2021_abbreviations_descriptions_and_equivalences(reference_2021: Path) -> None:
    rows = _reference_mapping(reference_2021, "dx_mapping_scored.csv")
    mapping = {r["SNOMEDCTCode"]: r for r in rows}
    assert set(mapping) == set(ED21.all_codes)
    for code in ED21.all_codes:
        assert ED21.code_abbreviations[code] == mapping[code]["Abbreviation"]
        assert ED21.descriptions[code] == mapping[code]["Dx"]
    pairs = {tuple(re.findall(r"\d+", r["Notes"])) for r in rows if re.findall(r"\d+", r["Notes"] or "")}
    assert pairs == {c for c in ED21.classes if len(c) > 1} == {
        ("733534002", "164909002"),
        ("713427006", "59118001"),
        ("284470004", "63593006"),
        ("427172004", "17338001"),
    }
    assert {ED21.abbreviations[c[0]] for c in pairs} == {"LBBB", "RBBB", "PAC", "PVC"}
    assert {"6374002", "365413008", "733534002"} <= set(ED21.codes)  # BBB, PRWP, CLBBB


def test_2021_weights_of_shared_classes_equal_2020() -> None:
    index = [ED21.column[c] for c in SCORED_CLASSES]  # LBBB 164909002 is 2021's CLBBB class
    assert len(set(index)) == 24
    assert np.array_equal(ED21.weight_matrix()[np.ix_(index, index)], weight_matrix())


def test_2021_table_files_are_own_long_form() -> None:
    rows = _read_rows(SRC / "tables" / "scored_classes_2021.csv")
    assert rows[0] == ["code", "abbreviation", "description", "scored_as"] and len(rows) == 31
    rows = _read_rows(SRC / "tables" / "weights_2021.csv")
    assert rows[0] == ["code_a", "code_b", "weight"] and len(rows) == 1 + 26 * 25 // 2


def _dx_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("year", [2020, 2021])
def test_dx_counts_equal_reference(reference: Path, year: int) -> None:
    folder = reference if year == 2020 else REFERENCE_2021
    if not (folder / "dx_mapping_scored.csv").is_file():
        pytest.skip(f"no dx_mapping tables at {folder}")
    sources = {
        2020: ["CPSC", "CPSC-Extra", "StPetersburg", "PTB", "PTB-XL", "Georgia"],
        2021: ["CPSC", "CPSC_Extra", "StPetersburg", "PTB", "PTB_XL", "Georgia",
               "Chapman_Shaoxing", "Ningbo"],
    }[year]
    keys = ["cpsc", "cpsc_extra", "incart", "ptb", "ptbxl", "georgia", "chapman_shaoxing", "ningbo"]
    keys = keys[: len(sources)]
    ours = _dx_rows(SRC / "tables" / f"dx_counts_{year}.csv")
    assert list(ours[0]) == ["code", "abbreviation", "description", "scored", *keys]
    expected = []
    for name, scored in (("dx_mapping_scored.csv", "1"), ("dx_mapping_unscored.csv", "0")):
        for row in _reference_mapping(folder, name):
            code = row.get("SNOMED CT Code") or row["SNOMEDCTCode"]
            counts = [int(row[s]) for s in sources]
            assert sum(counts) == int(row["Total"])
            expected.append((code, row["Abbreviation"], row["Dx"], scored, *counts))
    got = [(r["code"], r["abbreviation"], r["description"], r["scored"], *(int(r[k]) for k in keys))
           for r in ours]
    assert got == expected
    scored = {r["code"] for r in ours if r["scored"] == "1"}
    assert scored == set(edition(year).all_codes)


@pytest.mark.parametrize("year", [2020, 2021])
def test_make_label_tables_reproduces_the_tables(reference: Path, tmp_path: Path, year: int) -> None:
    """``scripts/make_label_tables.py [--edition YEAR]`` writes the package's tables byte for byte."""
    if year == 2021 and not (REFERENCE_2021 / "weights.csv").is_file():
        pytest.skip(f"the 2021 scorer's tables not found at {REFERENCE_2021}")
    script = SRC.parents[2] / "scripts" / "make_label_tables.py"
    command = [sys.executable, str(script), str(reference), "--edition", str(year), "--out", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"dx_counts_{year}.csv", f"scored_classes_{year}.csv", f"weights_{year}.csv"]
    for name in names:
        assert (tmp_path / name).read_bytes() == (SRC / "tables" / name).read_bytes(), name


def test_encode_labels_2021() -> None:
    col = ED21.column
    y = encode_labels(
        [
            ["164909002"],  # LBBB -> the CLBBB|LBBB class
            ["733534002", "164909002", "6374002"],
            ["365413008", " 17338001 "],
            ["733534002|164909002", "55827005"],  # a label is never split at "|"; unscored
            [],
        ],
        edition=2021,
    )
    expected = np.zeros((5, 26), dtype=bool)
    expected[0, col["733534002"]] = True
    expected[1, [col["733534002"], col["6374002"]]] = True
    expected[2, [col["365413008"], col["427172004"]]] = True
    assert y.dtype == bool and np.array_equal(y, expected)
    assert encode_labels([list(ED21.all_codes)], edition=ED21).all()
    assert encode_labels([], edition=2021).shape == (0, 26)
    with pytest.raises(TypeError):
        encode_labels(["426783006"], edition=2021)
