"""Regenerate ``src/ecgtricks/scoring/tables/*.csv`` from the PhysioNet/CinC 2020 reference files.

Usage::

    python scripts/make_label_tables.py REFERENCE_DIR [--out src/ecgtricks/scoring/tables]

``REFERENCE_DIR`` must hold the challenge's ``weights.csv`` (27x27 matrix with code headers)
and ``dx_mapping_scored.csv``. The output is the project's own representation: a classes table
(``code,abbreviation,description,scored_as``) and the upper triangle of the weight matrix in
long form (``code_a,code_b,weight``; the matrix is symmetric with a unit diagonal, which this
script checks before dropping the redundant half).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

# Equivalent diagnoses scored as one class; the first code of each pair is the representative
# (the 2020 scorer keeps the first member of each set that is present).
EQUIVALENT_PAIRS: tuple[tuple[str, str], ...] = (
    ("713427006", "59118001"),
    ("284470004", "63593006"),
    ("427172004", "17338001"),
)

_REPO = Path(__file__).resolve().parents[1]


def read_weights(path: Path) -> tuple[list[str], list[list[str]]]:
    """Return the code order and the raw (string) matrix of the reference weight file."""
    with path.open(newline="") as f:
        rows = [[cell.strip() for cell in row] for row in csv.reader(f) if row]
    codes = rows[0][1:]
    if [row[0] for row in rows[1:]] != codes:
        raise ValueError(f"{path}: row codes differ from column codes")
    values = [row[1:] for row in rows[1:]]
    if any(len(v) != len(codes) for v in values):
        raise ValueError(f"{path}: ragged matrix")
    return codes, values


def read_mapping(path: Path) -> dict[str, tuple[str, str]]:
    """Map SNOMED CT code -> (abbreviation, description) from a dx_mapping file."""
    with path.open(newline="") as f:
        return {
            row["SNOMED CT Code"].strip(): (row["Abbreviation"].strip(), row["Dx"].strip())
            for row in csv.DictReader(f)
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference_dir", type=Path)
    parser.add_argument("--out", type=Path, default=_REPO / "src" / "ecgtricks" / "scoring" / "tables")
    args = parser.parse_args(argv)

    codes, values = read_weights(args.reference_dir / "weights.csv")
    mapping = read_mapping(args.reference_dir / "dx_mapping_scored.csv")
    missing = [c for c in codes if c not in mapping]
    if missing:
        raise ValueError(f"codes without a dx_mapping entry: {missing}")

    n = len(codes)
    for i in range(n):
        if float(values[i][i]) != 1.0:
            raise ValueError(f"diagonal weight of {codes[i]} is {values[i][i]}, expected 1")
        for j in range(i + 1, n):
            if float(values[i][j]) != float(values[j][i]):
                raise ValueError(f"weights not symmetric at ({codes[i]}, {codes[j]})")

    representative = {other: rep for rep, other in EQUIVALENT_PAIRS}
    args.out.mkdir(parents=True, exist_ok=True)

    with (args.out / "scored_classes_2020.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code", "abbreviation", "description", "scored_as"])
        for code in codes:
            abbreviation, description = mapping[code]
            writer.writerow([code, abbreviation, description, representative.get(code, code)])

    with (args.out / "weights_2020.csv").open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["code_a", "code_b", "weight"])
        for i in range(n):
            for j in range(i + 1, n):
                # repr() is the shortest string that round-trips to the same float64.
                writer.writerow([codes[i], codes[j], repr(float(values[i][j]))])

    print(f"wrote {n} classes and {n * (n - 1) // 2} weights to {args.out}")


if __name__ == "__main__":
    main()
