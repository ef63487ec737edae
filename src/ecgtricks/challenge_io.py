"""The output files of the PhysioNet/CinC Challenge 2020 and loading labels/outputs for scoring.

One file ``NAME.csv`` per recording, four lines, comma separated::

    #NAME
    164889003,164890007,...        class codes
    0,1,...                        binary outputs
    0.0123,0.9,...                 probabilities (scores)

Reading follows ``load_outputs`` of ``evaluate_12ECG_score.py`` (physionetchallenges/
evaluation-2020): lines are taken by position (line 1 the codes, 2 the binary outputs, 3 the
scores), fields are split on commas and stripped; ``1``/``True``/``true``/``T``/``t`` are a
positive binary output; scores are parsed with ``float`` (so ``nan``/``inf`` are numbers), the
scores of equivalent codes are averaged with ``nanmean`` and binary outputs OR-ed, and NaN
scores become 0 after that merge. Where the official code would crash or silently read a
value it did not mean to (a missing ``#`` line, rows of different lengths, a binary token such
as ``1.0`` or ``yes`` that it reads as 0, a non-numeric score it reads as 0), the file is
reported as malformed instead. A trailing comma on a line is tolerated.

A code listed twice in one file is an error for :func:`read_output` by default; the official
loader accepts it, the later column overwriting the earlier one (binary output and score
alike), and :func:`load_outputs` scores such a file the same way (``duplicates="last"``).

:func:`load_outputs` scores a missing or malformed file as all negative with zero scores and
reports it, rather than aborting as the official script does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from ecgtricks.data.header import read_labels
from ecgtricks.data.record import duplicate_names, find_records
from ecgtricks.errors import ECGTricksError, RecordError
from ecgtricks.io import atomic_write_bytes
from ecgtricks.labels import ALL_SCORED_CODES, NORMAL_CLASS, SCORED_CLASSES, encode_labels
from ecgtricks.metrics import merge_equivalent

__all__ = ["load_labels", "load_outputs", "read_output", "write_output"]

# The official reader's spelling of a positive binary output; anything else it reads as 0.
_TRUE = frozenset({"1", "True", "true", "T", "t"})
# Negative spellings accepted here; other tokens are reported (see the module note).
_FALSE = frozenset({"0", "False", "false", "F", "f"})
_CODE_COLUMN = {code: i for i, code in enumerate(ALL_SCORED_CODES)}
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
        if not code or code != code.strip() or any(ch in code for ch in ",\r\n"):
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


def _fields(line: str) -> list[str]:
    fields = [f.strip() for f in line.split(",")]
    while fields and not fields[-1]:  # a trailing comma (or an empty line)
        fields.pop()
    return fields


def read_output(
    path: str | Path, *, duplicates: Literal["error", "last"] = "error"
) -> tuple[str, tuple[str, ...], np.ndarray, np.ndarray]:
    """Read one output file: ``(record_name, classes, binary (C,) bool, probabilities (C,))``.

    Probabilities are returned as written (NaN kept; :func:`load_outputs` zeroes them after
    merging equivalent codes, as the official scorer). Raises :class:`RecordError` naming the
    file for a missing, unreadable or malformed file.

    ``duplicates`` -- a code listed more than once: ``"error"`` reports the file as malformed;
    ``"last"`` keeps only the last column of each code, as the official loader (whose later
    column overwrites the earlier one); the codes then come in the order of those columns.
    """
    if duplicates not in ("error", "last"):
        raise ValueError(f"duplicates must be 'error' or 'last', got {duplicates!r}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a byte order mark
    except FileNotFoundError:
        raise RecordError(path, "output file is missing") from None
    except UnicodeDecodeError:
        raise RecordError(path, "output file is not UTF-8 text") from None
    except OSError as exc:
        raise RecordError(path, f"output file cannot be read ({exc.strerror})") from None

    # Universal newlines, as Python's text mode used by the official reader.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != 4:
        raise RecordError(
            path,
            f"output file has {len(lines)} lines, expected 4 "
            "(#record, class codes, binary outputs, probabilities)",
        )
    first = lines[0].strip()
    if not first.startswith("#"):
        raise RecordError(path, f"first line must be '#RECORD', got {first[:40]!r}")
    classes, binary_text, prob_text = (_fields(line) for line in lines[1:])
    if not classes:
        raise RecordError(path, "output file lists no class codes")
    if len(binary_text) != len(classes) or len(prob_text) != len(classes):
        raise RecordError(
            path,
            f"{len(classes)} class codes but {len(binary_text)} binary outputs "
            f"and {len(prob_text)} probabilities",
        )
    if "" in classes:
        raise RecordError(path, f"empty class code in column {classes.index('') + 1}")
    duplicated = len(set(classes)) != len(classes)
    if duplicated and duplicates == "error":
        dup = sorted({c for c in classes if classes.count(c) > 1})
        raise RecordError(path, f"duplicate class codes {', '.join(dup)}")
    bad = [t for t in binary_text if t not in _TRUE and t not in _FALSE]
    if bad:
        raise RecordError(path, f"binary output {bad[0]!r} is not 0/1/True/False")
    binary = np.array([t in _TRUE for t in binary_text], dtype=bool)
    try:
        probabilities = np.array([float(t) for t in prob_text], dtype=np.float64)
    except ValueError:
        token = next(t for t in prob_text if not _is_float(t))
        raise RecordError(path, f"probability {token!r} is not a number") from None
    if duplicated:  # duplicates == "last": the official reader's later column wins
        last = sorted({code: i for i, code in enumerate(classes)}.values())
        classes = [classes[i] for i in last]
        binary, probabilities = binary[last], probabilities[last]
    return first[1:].strip(), tuple(classes), binary, probabilities


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- directories


def _normal_rule(binary: np.ndarray, n_unscored_positive: np.ndarray) -> np.ndarray:
    """The official clean-up, counting unscored positive codes as the official code does."""
    b = binary.copy()
    n_pos = n_unscored_positive + np.count_nonzero(b, axis=1)
    b[(n_pos > 1) & b[:, _NORMAL], _NORMAL] = False
    b[n_pos == 0, _NORMAL] = True
    return b


def load_outputs(
    output_dir: str | Path, record_names: Sequence[str], *, normal_rule: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Binary outputs (N, 24) bool and scores (N, 24) of ``OUTPUT_DIR/NAME.csv`` per record.

    Columns follow :data:`SCORED_CLASSES`; equivalent codes are merged (binary OR, scores
    ``nanmean``) and unscored codes ignored. As in the official scorer the merge runs over the
    codes found in *any* file, so a file lacking a member code that other files list counts
    a 0 score for it in the mean; NaN scores become 0 after merging. A code listed twice in a
    file takes its last column, as officially. A missing or malformed file gives an
    all-negative, all-zero row and one ``"PATH: problem"`` line in ``problems``.

    ``normal_rule`` applies the official loader's clean-up to the binary outputs (a row with no
    positive code gets the normal class, the normal class is dropped when other codes are
    positive, unscored codes counting as positive); off by default.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise RecordError(output_dir, "output directory does not exist")
    names = [str(n) for n in record_names]
    n = len(names)
    problems: list[str] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    bin_values: list[np.ndarray] = []
    score_values: list[np.ndarray] = []
    n_unscored = np.zeros(n, dtype=np.intp)
    for i, name in enumerate(names):  # one file per recording: the loop is I/O
        try:
            _, classes, binary, scores = read_output(output_dir / f"{name}.csv", duplicates="last")
        except RecordError as exc:
            problems.append(str(exc))
            continue
        col = np.array([_CODE_COLUMN.get(c, -1) for c in classes], dtype=np.intp)
        scored = col >= 0
        rows.append(np.full(np.count_nonzero(scored), i, dtype=np.intp))
        cols.append(col[scored])
        bin_values.append(binary[scored])
        score_values.append(scores[scored])
        n_unscored[i] = np.count_nonzero(binary[~scored])

    # Over all 27 scored codes first, so that equivalent codes can be merged as officially.
    bin27 = np.zeros((n, len(ALL_SCORED_CODES)), dtype=bool)
    score27 = np.zeros((n, len(ALL_SCORED_CODES)), dtype=np.float64)
    present = np.zeros(len(ALL_SCORED_CODES), dtype=bool)
    if rows:
        r, c = np.concatenate(rows), np.concatenate(cols)
        bin27[r, c] = np.concatenate(bin_values)
        score27[r, c] = np.concatenate(score_values)
        present[c] = True
    binary_out = np.zeros((n, len(SCORED_CLASSES)), dtype=bool)
    scores_out = np.zeros((n, len(SCORED_CLASSES)), dtype=np.float64)
    keep = np.flatnonzero(present)
    if keep.size:
        codes = [ALL_SCORED_CODES[j] for j in keep]
        merged_codes, merged_bin = merge_equivalent(codes, bin27[:, keep], kind="binary")
        _, merged_scores = merge_equivalent(codes, score27[:, keep], kind="scores")
        target = np.array([SCORED_CLASSES.index(c) for c in merged_codes], dtype=np.intp)
        binary_out[:, target] = merged_bin
        scores_out[:, target] = np.where(np.isnan(merged_scores), 0.0, merged_scores)
    if normal_rule:
        binary_out = _normal_rule(binary_out, n_unscored)
    return binary_out, scores_out, problems


def load_labels(
    label_dir: str | Path, *, normal_rule: bool = False
) -> tuple[list[str], np.ndarray]:
    """Record names and labels (N, 24) bool from the ``Dx`` lines of the headers in a folder.

    Headers are found recursively (the official scorer lists only the top level) and hidden
    files are skipped; a record's name is its file name without ``.hea``, as officially.
    ``#Dx:`` and ``# Dx:`` are both accepted; only the comment lines are read (as officially),
    so a header broken elsewhere still gives its labels. Two headers with the same record name
    are an error naming both. ``normal_rule`` as in
    :func:`load_outputs` (the official scorer always applies it to labels).
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
    if normal_rule:
        n_unscored = np.array([len(set(c) - set(_CODE_COLUMN)) for c in codes], dtype=np.intp)
        labels = _normal_rule(labels, n_unscored)
    return [p.name for p in paths], labels
