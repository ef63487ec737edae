"""Challenge 2020 output files, and labels and outputs loaded for scoring as the final official
scorer loads them.

One output file ``NAME.csv`` per recording, comma separated::

    #NAME
    164889003,164890007,...        class codes
    0,1,...                        binary outputs
    0.0123,0.9,...                 probabilities (scores)

The scorer is ``evaluate_12ECG_score.py`` of physionetchallenges/evaluation-2020 at its final
revision (the one the Challenge's final results were scored with). Reading follows its
``load_outputs``: lines starting with ``#`` and blank lines are skipped; the first three
remaining lines are the codes, the binary outputs and the scores, provided there are at least
three and all remaining lines have the same number of commas -- otherwise the file has a
formatting error and the recording is scored as all negative. Fields are stripped;
``1``/``True``/``true``/``T``/``t`` are a positive binary output and any other token a negative
one; a score that ``float`` cannot read is 0. Every code is mapped to the representative of its
equivalent pair; a class listed more than once in a file (a code twice, or both codes of a
pair) is positive if any of its columns is and scores the ``nanmean`` of its columns; NaN scores
become 0. Unscored codes are ignored. There is no normal-class rule (removed from the official
loaders on 2020-07-19).

Deliberate departures, both only where the official script would stop with an exception:
a missing (or unreadable) output file is scored as all negative and reported, and labels are
read from ``# Dx:`` headers as well as ``#Dx:`` ones (see :func:`load_labels`). Tokens that the
official reader silently reads as 0 (``yes``, ``1.0``, ``high``) are scored the same way but
reported, as is a file with a formatting error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtricks.data.header import read_labels
from ecgtricks.data.record import duplicate_names, find_records
from ecgtricks.scoring.labels import NORMAL_CLASS, SCORED_AS, SCORED_CLASSES, encode_labels
from ecgtricks.utils.errors import ECGTricksError, RecordError
from ecgtricks.utils.files import atomic_write_bytes

__all__ = ["OutputFile", "load_labels", "load_outputs", "parse_output", "read_output", "write_output"]

# The official reader's spelling of a positive binary output; anything else it reads as 0.
_TRUE = frozenset({"1", "True", "true", "T", "t"})
# Negative spellings that are read as 0 without a remark.
_FALSE = frozenset({"0", "False", "false", "F", "f"})
# Any of the 27 scored codes -> its column in SCORED_CLASSES.
_COLUMN = {code: SCORED_CLASSES.index(rep) for code, rep in SCORED_AS.items()}
_NORMAL = SCORED_CLASSES.index(NORMAL_CLASS)


# --------------------------------------------------------------------------- one file


def write_output(
    path: str | Path,
    record_name: str,
    classes: Sequence[str],
    binary: np.ndarray,
    probabilities: np.ndarray,
) -> None:
    """Write one output file atomically (temp file + rename).

    Binary outputs are written as ``0``/``1``; probabilities with ``repr(float)``, the shortest
    text that reads back to the same float (``nan`` stays ``nan``).
    """
    classes = [str(c) for c in classes]
    if not record_name or any(ch in record_name for ch in "\r\n"):
        raise ValueError(f"invalid record name {record_name!r}")
    for code in classes:
        if not code or code != code.strip() or any(ch in code for ch in ",\r\n#"):
            raise ValueError(f"invalid class code {code!r}")
    if len(set(classes)) != len(classes):
        raise ValueError("duplicate class codes")
    b = np.asarray(binary)
    p = np.asarray(probabilities, dtype=np.float64)
    if b.shape != (len(classes),) or p.shape != (len(classes),):
        raise ValueError(
            f"{len(classes)} classes but binary of shape {b.shape} and "
            f"probabilities of shape {p.shape}"
        )
    if b.dtype != bool and not ((b == 0) | (b == 1)).all():
        raise ValueError("binary outputs must be 0/1 (or bool)")
    lines = [
        f"#{record_name}",
        ",".join(classes),
        ",".join("1" if v else "0" for v in b.astype(bool).tolist()),
        ",".join(repr(v) for v in p.tolist()),
    ]
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


@dataclass(frozen=True)
class OutputFile:
    """One output file as the official scorer reads it.

    ``classes``, ``binary`` (bool) and ``scores`` (float, NaN kept) are column by column as
    written; all empty when the file has a formatting error. ``remarks`` lists what the
    official reader silently reads differently from what was probably meant, and the
    formatting error if any (``ok`` is False then).
    """

    name: str | None
    classes: tuple[str, ...]
    binary: np.ndarray
    scores: np.ndarray
    remarks: tuple[str, ...]
    ok: bool


def _number(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


def parse_output(lines: Iterable[str]) -> OutputFile:
    """Read the lines of one output file (text mode, universal newlines) as officially."""
    name = None
    data = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            name = stripped[1:].strip() if name is None else name
        elif stripped:
            data.append(line)
    widths = {len(line.split(",")) for line in data}
    if len(data) < 3 or len(widths) != 1:
        problem = (
            f"{len(data)} lines of codes/outputs, 3 expected" if len(data) < 3
            else f"its lines have different numbers of fields {sorted(widths)}"
        )
        empty = np.zeros(0)
        return OutputFile(name, (), empty.astype(bool), empty, (f"formatting error: {problem}",), False)
    codes, binary_tokens, score_tokens = ([f.strip() for f in line.split(",")] for line in data[:3])
    numbers = [_number(t) for t in score_tokens]
    remarks = []
    odd = sorted({t for t in binary_tokens if t not in _TRUE and t not in _FALSE})
    if odd:
        remarks.append(f"binary output(s) {', '.join(map(repr, odd))} read as 0")
    odd = sorted({t for t, v in zip(score_tokens, numbers, strict=True) if v is None})
    if odd:
        remarks.append(f"score(s) {', '.join(map(repr, odd))} read as 0")
    if len(data) > 3:
        remarks.append(f"{len(data) - 3} line(s) after the scores ignored")
    repeated = sorted({c for c in codes if codes.count(c) > 1})
    if repeated:
        remarks.append(f"code(s) {', '.join(repeated)} listed twice: OR of the binary outputs, mean of the scores")
    return OutputFile(
        name,
        tuple(codes),
        np.array([t in _TRUE for t in binary_tokens], dtype=bool),
        np.array([0.0 if v is None else v for v in numbers], dtype=np.float64),
        tuple(remarks),
        True,
    )


def _read_lines(path: Path) -> list[str]:
    try:
        # Text mode as the official reader (no BOM stripping: it does not strip one either).
        with open(path, encoding="utf-8") as handle:
            return list(handle)
    except FileNotFoundError:
        raise RecordError(path, "output file is missing") from None
    except UnicodeDecodeError:
        raise RecordError(path, "output file is not UTF-8 text") from None
    except OSError as exc:
        raise RecordError(path, f"output file cannot be read ({exc.strerror})") from None


def read_output(path: str | Path) -> tuple[str, tuple[str, ...], np.ndarray, np.ndarray]:
    """Read one output file strictly: ``(record_name, classes, binary (C,), probabilities (C,))``.

    For files this project writes (:func:`write_output`): anything the official reader would
    read with a remark -- no ``#NAME`` line, a formatting error, odd tokens, a code twice --
    raises :class:`RecordError` naming the file. Probabilities come back as written.
    """
    path = Path(path)
    parsed = parse_output(_read_lines(path))
    problems = list(parsed.remarks)
    if parsed.name is None:
        problems.append("no '#RECORD' line")
    if problems:
        raise RecordError(path, "; ".join(problems))
    return parsed.name, parsed.classes, parsed.binary, parsed.scores


# --------------------------------------------------------------------------- directories


def apply_legacy_normal_rule(binary: np.ndarray, n_unscored_positive: np.ndarray) -> np.ndarray:
    """The mid-2020 official loaders' clean-up, *not* part of the final scorer.

    A row with no positive code (unscored codes counting) gets the normal class; the normal
    class is dropped from a row with any other positive code. Removed officially on 2020-07-19.
    """
    b = binary.copy()
    n_pos = n_unscored_positive + np.count_nonzero(b, axis=1)
    b[(n_pos > 1) & b[:, _NORMAL], _NORMAL] = False
    b[n_pos == 0, _NORMAL] = True
    return b


def load_outputs(
    output_dir: str | Path, record_names: Sequence[str], *, legacy_normal_rule: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Binary outputs (N, 24) bool and scores (N, 24) of ``OUTPUT_DIR/NAME.csv`` per record.

    Columns follow :data:`SCORED_CLASSES`, read as the final official scorer reads them (see
    the module note). ``problems`` has one ``"PATH: ..."`` line per file that is missing,
    unreadable or has a formatting error (scored as all negative) or was read with a remark.
    ``legacy_normal_rule`` applies :func:`apply_legacy_normal_rule` (not the final scorer).
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise RecordError(output_dir, "output directory does not exist")
    n = len(record_names)
    problems: list[str] = []
    rows, cols, binary_values, score_values = [], [], [], []
    n_unscored = np.zeros(n, dtype=np.intp)
    for i, name in enumerate(record_names):  # one file per recording: the loop is I/O
        path = output_dir / f"{name}.csv"
        try:
            parsed = parse_output(_read_lines(path))
        except RecordError as exc:
            problems.append(f"{exc} (scored as all negative)")
            continue
        if parsed.remarks:
            verdict = "scored as all negative" if not parsed.ok else "read as the official scorer reads it"
            problems.append(f"{path}: {'; '.join(parsed.remarks)} ({verdict})")
        col = np.array([_COLUMN.get(c, -1) for c in parsed.classes], dtype=np.intp)
        scored = col >= 0
        rows.append(np.full(np.count_nonzero(scored), i, dtype=np.intp))
        cols.append(col[scored])
        binary_values.append(parsed.binary[scored])
        score_values.append(parsed.scores[scored])
        n_unscored[i] = np.count_nonzero(parsed.binary[~scored])

    binary = np.zeros((n, len(SCORED_CLASSES)), dtype=bool)
    total = np.zeros(binary.shape, dtype=np.float64)
    count = np.zeros(binary.shape, dtype=np.intp)
    if rows:
        r, c = np.concatenate(rows), np.concatenate(cols)
        b, s = np.concatenate(binary_values), np.concatenate(score_values)
        np.logical_or.at(binary, (r, c), b)
        finite = ~np.isnan(s)  # nanmean over the columns of a class, in file order
        with np.errstate(invalid="ignore"):  # inf + -inf is NaN, as in nanmean
            np.add.at(total, (r[finite], c[finite]), s[finite])
        np.add.at(count, (r[finite], c[finite]), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(count > 0, total / count, 0.0)
    scores[np.isnan(scores)] = 0.0  # NaN -> 0 after averaging; infinities stay, as officially
    if legacy_normal_rule:
        binary = apply_legacy_normal_rule(binary, n_unscored)
    return binary, scores, problems


def load_labels(
    label_dir: str | Path, *, legacy_normal_rule: bool = False
) -> tuple[list[str], np.ndarray]:
    """Record names and labels (N, 24) bool from the ``Dx`` lines of the headers in a folder.

    As the official scorer: codes are the comma-separated fields of the ``#Dx:`` line, mapped to
    their representative; a record's name is its file name without ``.hea``; hidden files are
    skipped. Departures: ``# Dx:`` is read too (the official reader needs ``#Dx``), headers are
    found recursively (officially only at the top level), and two headers with the same record
    name are an error naming both. Only the comment lines are read, so a header broken
    elsewhere still gives its labels.
    """
    label_dir = Path(label_dir)
    if not label_dir.is_dir():
        raise RecordError(label_dir, "label directory does not exist")
    paths = [p for p in find_records(label_dir) if not p.name.startswith(".")]
    if not paths:
        raise ECGTricksError(f"{label_dir}: no header (.hea) files found")
    dups = duplicate_names(paths)
    if dups:
        p, first = next(iter(dups.items()))
        raise ECGTricksError(f"record name {p.name!r} occurs twice: {first}.hea and {p}.hea")
    # p.name + ".hea" rather than with_suffix: record names may contain dots.
    codes = [read_labels(p.parent / f"{p.name}.hea") for p in paths]
    labels = encode_labels(codes)
    if legacy_normal_rule:
        n_unscored = np.array([len(set(c) - set(_COLUMN)) for c in codes], dtype=np.intp)
        labels = apply_legacy_normal_rule(labels, n_unscored)
    return [p.name for p in paths], labels
