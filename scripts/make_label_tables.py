"""Regenerate ``src/ecgtricks/scoring/tables/*.csv`` from the PhysioNet/CinC reference files.

Usage::

    python scripts/make_label_tables.py REFERENCE_DIR [--edition 2020|2021] [--out src/ecgtricks/scoring/tables]

``--edition 2020`` (the default): ``REFERENCE_DIR`` holds the 2020 challenge's ``weights.csv``
(27x27 matrix with code headers) and ``dx_mapping_scored.csv``/``dx_mapping_unscored.csv``.
``--edition 2021``: the folder of the final 2021 scorer (``official-scorer-2021``; given the
folder above it, that subfolder is used), whose ``weights.csv`` is a 26x26 matrix whose headers
join equivalent codes with ``|`` (``733534002|164909002``).

The output is the project's own representation, per edition YEAR: a classes table
``scored_classes_YEAR.csv`` (``code,abbreviation,description,scored_as``: every scored code,
the first code of an equivalent set being the one it is scored as), the upper triangle of the
weight matrix in long form ``weights_YEAR.csv`` (``code_a,code_b,weight``; the matrix is symmetric
with a unit diagonal, which this script checks before dropping the redundant half; 2020 over all
27 codes, 2021 over the 26 classes' first codes) and ``dx_counts_YEAR.csv`` (every code of the
``dx_mapping`` tables, scored then unscored, with its number of records in each training source).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

# Equivalent diagnoses the 2020 scorer scores as one class (hard-coded there); the first code of
# each pair is the representative (the 2020 scorer keeps the first member of each set present).
# The 2021 scorer writes its sets into weights.csv itself (``a|b``), first code first.
EQUIVALENT_PAIRS: tuple[tuple[str, str], ...] = (
    ("713427006", "59118001"),
    ("284470004", "63593006"),
    ("427172004", "17338001"),
)

_REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Layout:
    """Where an edition's reference files keep what, and the project's names for it."""

    code_column: str  # the dx_mapping column of the SNOMED CT code
    sources: tuple[tuple[str, str], ...]  # (dx_mapping column, the project's source key)


LAYOUTS: dict[int, Layout] = {
    2020: Layout(
        "SNOMED CT Code",
        (("CPSC", "cpsc"), ("CPSC-Extra", "cpsc_extra"), ("StPetersburg", "incart"),
         ("PTB", "ptb"), ("PTB-XL", "ptbxl"), ("Georgia", "georgia")),
    ),
    2021: Layout(
        "SNOMEDCTCode",
        (("CPSC", "cpsc"), ("CPSC_Extra", "cpsc_extra"), ("StPetersburg", "incart"),
         ("PTB", "ptb"), ("PTB_XL", "ptbxl"), ("Georgia", "georgia"),
         ("Chapman_Shaoxing", "chapman_shaoxing"), ("Ningbo", "ningbo")),
    ),
}


def read_weights(path: Path) -> tuple[list[str], list[list[str]]]:
    """Return the code order and the raw (string) matrix of the reference weight file.

    Headers are as written: a 2021 header joins equivalent codes with ``|``.
    """
    with path.open(newline="") as f:
        rows = [[cell.strip() for cell in row] for row in csv.reader(f) if row]
    codes = rows[0][1:]
    if [row[0] for row in rows[1:]] != codes:
        raise ValueError(f"{path}: row codes differ from column codes")
    values = [row[1:] for row in rows[1:]]
    if any(len(v) != len(codes) for v in values):
        raise ValueError(f"{path}: ragged matrix")
    return codes, values


def read_mapping_rows(path: Path, layout: Layout) -> list[dict[str, str]]:
    """The rows of a dx_mapping file, cells stripped, the code under ``"code"``."""
    with path.open(newline="") as f:
        rows = [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]
    for row in rows:
        row["code"] = row[layout.code_column]
    return rows


def read_mapping(path: Path, layout: Layout | None = None) -> dict[str, tuple[str, str]]:
    """Map SNOMED CT code -> (abbreviation, description) from a dx_mapping file."""
    rows = read_mapping_rows(path, layout or LAYOUTS[2020])
    return {row["code"]: (row["Abbreviation"], row["Dx"]) for row in rows}


def check_matrix(labels: list[str], values: list[list[str]]) -> None:
    """A unit diagonal and a symmetric matrix, or ValueError."""
    n = len(labels)
    for i in range(n):
        if float(values[i][i]) != 1.0:
            raise ValueError(f"diagonal weight of {labels[i]} is {values[i][i]}, expected 1")
        for j in range(i + 1, n):
            if float(values[i][j]) != float(values[j][i]):
                raise ValueError(f"weights not symmetric at ({labels[i]}, {labels[j]})")


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_dx_counts(reference_dir: Path, layout: Layout, out: Path) -> int:
    rows = []
    for name, scored in (("dx_mapping_scored.csv", "1"), ("dx_mapping_unscored.csv", "0")):
        for row in read_mapping_rows(reference_dir / name, layout):
            counts = [str(int(row[column])) for column, _ in layout.sources]
            rows.append([row["code"], row["Abbreviation"], row["Dx"], scored, *counts])
    codes = [row[0] for row in rows]
    if len(set(codes)) != len(codes):
        raise ValueError(f"{reference_dir}: a code occurs twice in the dx_mapping tables")
    header = ["code", "abbreviation", "description", "scored", *(k for _, k in layout.sources)]
    write_csv(out, header, rows)
    return len(rows)


def make_tables(reference_dir: Path, edition: int, out: Path) -> str:
    """Write the three tables of ``edition`` into ``out``; returns a one-line summary."""
    layout = LAYOUTS[edition]
    labels, values = read_weights(reference_dir / "weights.csv")
    check_matrix(labels, values)
    # One set of codes per row of the matrix; the first code of a set is its representative.
    groups = [label.split("|") for label in labels]
    if edition == 2020:
        if any(len(g) != 1 for g in groups):
            raise ValueError("the 2020 weights.csv names one code per row")
        representative = {other: rep for rep, other in EQUIVALENT_PAIRS}
    else:
        representative = {code: g[0] for g in groups for code in g}
    codes = [code for g in groups for code in g]
    if len(set(codes)) != len(codes):
        raise ValueError("a code occurs twice in weights.csv")
    mapping = read_mapping(reference_dir / "dx_mapping_scored.csv", layout)
    missing = [c for c in codes if c not in mapping]
    if missing or len(mapping) != len(codes):
        raise ValueError(f"weights.csv and dx_mapping_scored.csv disagree: {missing or sorted(mapping)}")

    out.mkdir(parents=True, exist_ok=True)
    write_csv(
        out / f"scored_classes_{edition}.csv",
        ["code", "abbreviation", "description", "scored_as"],
        [[code, *mapping[code], representative.get(code, code)] for code in codes],
    )
    # 2020: the matrix over all 27 codes, as written; 2021: over each set's first code.
    heads = [g[0] for g in groups]
    n = len(heads)
    write_csv(
        out / f"weights_{edition}.csv",
        ["code_a", "code_b", "weight"],
        # repr() is the shortest string that round-trips to the same float64.
        [[heads[i], heads[j], repr(float(values[i][j]))] for i in range(n) for j in range(i + 1, n)],
    )
    n_dx = write_dx_counts(reference_dir, layout, out / f"dx_counts_{edition}.csv")
    return (
        f"wrote {n} classes ({len(codes)} codes), {n * (n - 1) // 2} weights and {n_dx} "
        f"diagnosis counts of {edition} to {out}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference_dir", type=Path)
    parser.add_argument("--edition", type=int, choices=sorted(LAYOUTS), default=2020)
    parser.add_argument("--out", type=Path, default=_REPO / "src" / "ecgtricks" / "scoring" / "tables")
    args = parser.parse_args(argv)
    reference_dir = args.reference_dir
    if args.edition == 2021 and (reference_dir / "official-scorer-2021").is_dir():
        reference_dir = reference_dir / "official-scorer-2021"
    print(make_tables(reference_dir, args.edition, args.out))


if __name__ == "__main__":
    main()
