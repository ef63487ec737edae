"""Challenge output files, and labels and outputs loaded for scoring as the final official
scorer of an edition (2020 by default, or 2021) loads them.

One output file ``NAME.csv`` per recording, comma separated::

    #NAME
    164889003,164890007,...        class codes
    0,1,...                        binary outputs
    0.0123,0.9,...                 probabilities (scores)

**2020** -- the scorer is ``evaluate_12ECG_score.py`` of physionetchallenges/evaluation-2020 at
its final revision (the one the Challenge's final results were scored with). Reading follows its
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

**2021** -- the scorer is ``evaluate_model.py`` (with ``helper_code.py``) of
physionetchallenges/evaluation-2021 at its final revision. Its reader takes the lines as they
come: the first is the record line (whatever it holds), then the class line, the binary line
and the score line; later lines are ignored and nothing is skipped. A class entry may join
equivalent codes with ``|`` (``733534002|164909002``; the parts are not stripped), and it counts
for every scored class that shares a code with it. A binary output is positive when it is a
finite number equal to 1 (``1``, ``1.0``, ``1e0``) or ``True``/``true``/``T``/``t``; a score
that is not a finite number (NaN, infinite, unreadable) is 0. A class matched by several
entries is positive if any of them is and scores the plain mean of their (sanitised) scores.
Fields beyond the class line are ignored; unscored codes are ignored.

Deliberate departures, in both editions (see :func:`ecgtricks.scoring.label_files.load_labels` for the labels):
a missing (or unreadable) output file is scored as all negative and reported; so is, in 2021, a
file the official reader stops on with an exception (fewer than four lines, or a scored class
without a binary output or score). Tokens that the official reader silently reads in a way
that was probably not meant (``yes``, and in 2020 ``1.0``, read as 0; in 2021 ``1.0`` read as
1 and ``inf`` as 0), a file with a formatting error, a missing ``#NAME`` first line (2021) and
other oddities are scored the same way but reported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgtricks.scoring.editions import Edition
from ecgtricks.scoring.editions import edition as _edition
from ecgtricks.scoring.labels import NORMAL_CLASS, SCORED_AS, SCORED_CLASSES
from ecgtricks.utils.errors import RecordError
from ecgtricks.utils.files import atomic_write_bytes

__all__ = [
    "OutputFile",
    "load_outputs",
    "output_columns",
    "parse_output",
    "read_output",
    "write_output",
]

# The official 2020 reader's spelling of a positive binary output; anything else it reads as 0.
_TRUE = frozenset({"1", "True", "true", "T", "t"})
# The 2021 reader's words for a positive binary output (besides numbers equal to 1).
_TRUE_WORDS_2021 = frozenset({"True", "true", "T", "t"})
# Negative spellings that are read as 0 without a remark.
_FALSE = frozenset({"0", "False", "false", "F", "f"})
# Any of the 27 scored codes -> its column in SCORED_CLASSES.
_COLUMN = {code: SCORED_CLASSES.index(rep) for code, rep in SCORED_AS.items()}
_NORMAL = SCORED_CLASSES.index(NORMAL_CLASS)


# --------------------------------------------------------------------------- one file


def _class_text(code: object, year: int) -> str:
    """One class entry of the class line; 2021 joins a set of equivalent codes with ``|``."""
    if not isinstance(code, tuple | list):
        text = str(code)
    elif year == 2020:
        raise ValueError(f"class {code!r}: the 2020 scorer reads one code per column")
    else:
        text = "|".join(str(c) for c in code)
    if not text or text != text.strip() or any(ch in text for ch in ",\r\n#"):
        raise ValueError(f"invalid class code {text!r}")
    if "|" in text:
        if year == 2020:
            raise ValueError(f"invalid class code {text!r}: the 2020 scorer has no '|' notation")
        if any(not part or part != part.strip() for part in text.split("|")):
            raise ValueError(f"invalid class code {text!r}: empty or padded code around '|'")
    return text


def write_output(
    path: str | Path,
    record_name: str,
    classes: Sequence[str | Sequence[str]],
    binary: np.ndarray,
    probabilities: np.ndarray,
    *,
    edition: int | str | Edition = 2020,
) -> None:
    """Write one output file atomically (temp file + rename), read alike by both editions.

    Binary outputs are written as ``0``/``1``; probabilities with ``repr(float)``, the shortest
    text that reads back to the same float (``nan`` stays ``nan``; both scorers score it 0).
    ``edition=2021`` also takes a class as a tuple of equivalent codes, written ``a|b`` (as
    ``Edition.classes`` holds them), and a ``a|b`` string; the 2020 scorer has no such notation.
    """
    year = _edition(edition).year
    classes = [_class_text(c, year) for c in classes]
    if not record_name or any(ch in record_name for ch in "\r\n"):
        raise ValueError(f"invalid record name {record_name!r}")
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


def parse_output(lines: Iterable[str], *, edition: int | str | Edition = 2020) -> OutputFile:
    """Read the lines of one output file (text mode, universal newlines) as the official
    scorer of ``edition`` does."""
    ed = _edition(edition)
    if ed.year != 2020:
        return _parse_output_2021(list(lines), ed)
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


def _broken(name: str | None, problem: str) -> OutputFile:
    empty = np.zeros(0)
    return OutputFile(name, (), empty.astype(bool), empty, (f"formatting error: {problem}",), False)


def output_columns(entry: str, edition: int | str | Edition = 2021) -> tuple[int, ...]:
    """The columns (classes of ``edition``) that one class entry of an output file counts for.

    2021: the entry's ``|``-separated codes, not stripped, each giving its class's column; an
    entry counts for every class sharing a code with it (``713427006|59118001`` for RBBB, and
    ``164889003|164890007`` for both AF and AFL). 2020: the column of the code, if scored.
    """
    ed = _edition(edition)
    if ed.year == 2020:
        return (ed.column[entry],) if entry in ed.column else ()
    return tuple(sorted({ed.column[code] for code in entry.split("|") if code in ed.column}))


def _parse_output_2021(lines: list[str], ed: Edition) -> OutputFile:
    """``helper_code.load_outputs`` and ``load_classifier_outputs`` of the 2021 scorer."""
    first = lines[0].strip() if lines else ""
    name = (first[1:].strip() or None) if first.startswith("#") else None
    if len(lines) < 4:
        return _broken(
            name,
            f"{len(lines)} line(s), 4 expected (record, classes, binary outputs, scores); "
            "the official 2021 scorer stops with an exception",
        )
    codes = [f.strip() for f in lines[1].split(",")]
    binary_tokens = [f.strip() for f in lines[2].split(",")]
    score_tokens = lines[3].split(",")  # float() ignores surrounding whitespace
    columns = [output_columns(c, ed) for c in codes]
    short = [k for k, cols in enumerate(columns) if cols and k >= min(len(binary_tokens), len(score_tokens))]
    if short:
        return _broken(
            name,
            f"class {codes[short[0]]!r} (field {short[0] + 1}) has no binary output or score "
            f"({len(codes)} classes, {len(binary_tokens)} binary outputs, {len(score_tokens)} "
            "scores); the official 2021 scorer stops with an exception",
        )
    binary_numbers = [_number(t) for t in binary_tokens]
    binary = [
        t in _TRUE_WORDS_2021 or (v is not None and math.isfinite(v) and v == 1)
        for t, v in zip(binary_tokens, binary_numbers, strict=True)
    ]
    numbers = [_number(t) for t in score_tokens]

    remarks = []
    if not first.startswith("#"):
        remarks.append(
            f"first line {first[:40]!r} is not '#NAME': the official 2021 reader takes it for "
            "the record line whatever it holds"
        )
    odd = [
        f"{', '.join(map(repr, tokens))} read as {word}"
        for value, word in ((True, "1"), (False, "0"))
        if (tokens := sorted({t for t, b in zip(binary_tokens, binary, strict=True)
                              if b == value and t not in _TRUE and t not in _FALSE}))
    ]
    if odd:
        remarks.append(f"binary output(s) {', '.join(odd)}")
    odd = sorted({t.strip() for t, v in zip(score_tokens, numbers, strict=True)
                  if v is None or math.isinf(v)})
    if odd:
        remarks.append(f"score(s) {', '.join(map(repr, odd))} read as 0")
    if len(binary_tokens) != len(codes) or len(score_tokens) != len(codes):
        remarks.append(
            f"{len(codes)} classes, {len(binary_tokens)} binary outputs and {len(score_tokens)} "
            "scores: fields without a scored class are ignored"
        )
    extra = sum(1 for line in lines[4:] if line.strip())
    if extra:
        remarks.append(f"{extra} line(s) after the scores ignored")
    seen: dict[str, int] = {}
    for entry in codes:
        for code in set(entry.split("|")):
            if code in ed.column:
                seen[code] = seen.get(code, 0) + 1
    repeated = sorted(c for c, n in seen.items() if n > 1)
    if repeated:
        remarks.append(
            f"code(s) {', '.join(repeated)} listed twice: OR of the binary outputs, mean of the scores"
        )
    joined = [c for c, cols in zip(codes, columns, strict=True) if len(cols) > 1]
    if joined:
        remarks.append(
            f"class(es) {', '.join(map(repr, joined))} join codes of different classes: "
            "each counts for all of them"
        )
    padded = sorted({c for c in codes if "|" in c
                     and any(p != p.strip() and p.strip() in ed.column for p in c.split("|"))})
    if padded:
        remarks.append(
            f"class(es) {', '.join(map(repr, padded))}: a code padded with spaces around '|' "
            "is not read"
        )
    n = len(codes)
    b = np.zeros(n, dtype=bool)
    b[: min(n, len(binary))] = binary[:n]
    scores = np.full(n, np.nan)
    scores[: min(n, len(numbers))] = [0.0 if v is None else v for v in numbers[:n]]
    return OutputFile(name, tuple(codes), b, scores, tuple(remarks), True)


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


def read_output(
    path: str | Path, *, edition: int | str | Edition = 2020
) -> tuple[str, tuple[str, ...], np.ndarray, np.ndarray]:
    """Read one output file strictly: ``(record_name, classes, binary (C,), probabilities (C,))``.

    For files this project writes (:func:`write_output`): anything the official reader of
    ``edition`` would read with a remark -- no ``#NAME`` line, a formatting error, odd tokens, a
    code twice -- raises :class:`RecordError` naming the file. Probabilities come back as
    written; classes as written (``a|b`` in 2021).
    """
    path = Path(path)
    parsed = parse_output(_read_lines(path), edition=edition)
    problems = list(parsed.remarks)
    if parsed.name is None and not any(r.startswith("first line") for r in problems):
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


def _no_legacy_rule(ed: Edition) -> None:
    if ed.year != 2020:
        raise ValueError(
            f"the legacy normal-class rule is a mid-2020 rule; the {ed.year} scorer has none"
        )


def load_outputs(
    output_dir: str | Path,
    record_names: Sequence[str],
    *,
    legacy_normal_rule: bool = False,
    edition: int | str | Edition = 2020,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Binary outputs (N, C) bool and scores (N, C) of ``OUTPUT_DIR/NAME.csv`` per record.

    Columns follow the edition's classes (2020: :data:`SCORED_CLASSES`, C = 24; 2021: C = 26),
    read as the edition's final official scorer reads them (see the module note). ``problems``
    has one ``"PATH: ..."`` line per file that is missing, unreadable or has a formatting error
    (scored as all negative) or was read with a remark. ``legacy_normal_rule`` applies
    :func:`apply_legacy_normal_rule` (2020 only; not the final scorer).
    """
    ed = _edition(edition)
    if legacy_normal_rule:
        _no_legacy_rule(ed)
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise RecordError(output_dir, "output directory does not exist")
    n = len(record_names)
    problems: list[str] = []
    rows, cols, binary_values, score_values = [], [], [], []
    n_unscored = np.zeros(n, dtype=np.intp)
    columns: dict[str, tuple[int, ...]] = {}  # 2021: class entry -> the columns it counts for
    flat: tuple[list, list, list, list] = ([], [], [], [])  # 2021: rows, columns, binary, scores
    for i, name in enumerate(record_names):  # one file per recording: the loop is I/O
        path = output_dir / f"{name}.csv"
        try:
            parsed = parse_output(_read_lines(path), edition=ed)
        except RecordError as exc:
            problems.append(f"{exc} (scored as all negative)")
            continue
        if parsed.remarks:
            verdict = "scored as all negative" if not parsed.ok else "read as the official scorer reads it"
            problems.append(f"{path}: {'; '.join(parsed.remarks)} ({verdict})")
        if ed.year == 2020:
            col = np.array([_COLUMN.get(c, -1) for c in parsed.classes], dtype=np.intp)
            scored = col >= 0
            rows.append(np.full(np.count_nonzero(scored), i, dtype=np.intp))
            cols.append(col[scored])
            binary_values.append(parsed.binary[scored])
            score_values.append(parsed.scores[scored])
            n_unscored[i] = np.count_nonzero(parsed.binary[~scored])
            continue
        # 2021: an entry counts for every class it shares a code with (one entry, one value).
        for k, entry in enumerate(parsed.classes):
            found = columns.get(entry)
            if found is None:
                found = columns[entry] = output_columns(entry, ed)
            for col in found:
                flat[0].append(i)
                flat[1].append(col)
                flat[2].append(bool(parsed.binary[k]))
                flat[3].append(float(parsed.scores[k]))
    if flat[0]:
        rows.append(np.array(flat[0], dtype=np.intp))
        cols.append(np.array(flat[1], dtype=np.intp))
        binary_values.append(np.array(flat[2], dtype=bool))
        score_values.append(np.array(flat[3], dtype=np.float64))

    binary = np.zeros((n, ed.n_classes), dtype=bool)
    total = np.zeros(binary.shape, dtype=np.float64)
    count = np.zeros(binary.shape, dtype=np.intp)
    if rows:
        r, c = np.concatenate(rows), np.concatenate(cols)
        b, s = np.concatenate(binary_values), np.concatenate(score_values)
        np.logical_or.at(binary, (r, c), b)
        if ed.year == 2020:
            finite = ~np.isnan(s)  # nanmean over the columns of a class, in file order
        else:
            # Every score that is not a finite number is read as 0 first, then averaged.
            s = np.where(np.isfinite(s), s, 0.0)
            finite = np.ones(s.shape, dtype=bool)
        with np.errstate(invalid="ignore", over="ignore"):  # inf + -inf is NaN, as in nanmean
            np.add.at(total, (r[finite], c[finite]), s[finite])
        np.add.at(count, (r[finite], c[finite]), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = np.where(count > 0, total / count, 0.0)
    scores[np.isnan(scores)] = 0.0  # NaN -> 0 after averaging; 2020: infinities stay, as officially
    if legacy_normal_rule:
        binary = apply_legacy_normal_rule(binary, n_unscored)
    return binary, scores, problems
