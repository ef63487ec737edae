"""The project's label tables against the challenge's reference files, and label encoding."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.scoring import labels
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
    for path in [SRC / "labels.py", SRC / "metrics.py", *sorted((SRC / "tables").iterdir())]:
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
