"""A folder of label headers read as the official scorers read them: record names and the
edition's multi-hot labels from the ``Dx`` lines."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ecgtricks.data.header import read_labels
from ecgtricks.data.record import duplicate_names, find_records
from ecgtricks.scoring.editions import Edition
from ecgtricks.scoring.editions import edition as _edition
from ecgtricks.scoring.labels import encode_labels
from ecgtricks.scoring.outputs import _COLUMN, _no_legacy_rule, apply_legacy_normal_rule
from ecgtricks.utils.errors import ECGTricksError, RecordError

# "# Dx:" (the spelling of some 2021 headers) read as "#Dx:" -- a departure, see load_labels.
_SPACED_DX = re.compile(r"^#[ \t]+Dx")


def read_dx_2021(path: str | Path) -> tuple[str, ...]:
    """The label codes of one header as the 2021 scorer's ``get_labels`` reads them.

    Every line starting ``#Dx`` counts: the fields after its first ``": "``, split at commas
    and stripped (a line without ``": "`` gives nothing). Departure: a line written ``# Dx``
    (spaces between ``#`` and ``Dx``) is read as if written ``#Dx``, where the official
    reader silently reads no label from it.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")  # universal newlines
    except FileNotFoundError:
        raise RecordError(path, "header file is missing") from None
    except OSError as exc:
        raise RecordError(path, f"header cannot be read ({exc.strerror})") from None
    codes: list[str] = []
    for line in text.split("\n"):
        line = _SPACED_DX.sub("#Dx", line, count=1)
        if line.startswith("#Dx"):
            fields = line.split(": ")
            if len(fields) > 1:
                codes.extend(entry.strip() for entry in fields[1].split(","))
    return tuple(codes)


def load_labels(
    label_dir: str | Path,
    *,
    legacy_normal_rule: bool = False,
    edition: int | str | Edition = 2020,
) -> tuple[list[str], np.ndarray]:
    """Record names and labels (N, C) bool from the ``Dx`` lines of the headers in a folder.

    As the official scorer: codes are the comma-separated fields of the ``#Dx:`` line (2021:
    of every ``#Dx`` line, :func:`read_dx_2021`), a class positive when any of its codes is;
    a record's name is its file name without ``.hea``; hidden files are skipped. Departures,
    the same in both editions: ``# Dx:`` is read too (the official readers need ``#Dx``; the
    2020 one then stops, the 2021 one reads no label), headers are found recursively
    (officially only at the top level) and by their lower-case ``.hea`` only, and two headers
    with the same record name are an error naming both. Only the comment lines are read, so a
    header broken elsewhere still gives its labels. ``legacy_normal_rule``: 2020 only.
    """
    ed = _edition(edition)
    if legacy_normal_rule:
        _no_legacy_rule(ed)
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
    read = read_labels if ed.year == 2020 else read_dx_2021
    codes = [read(p.parent / f"{p.name}.hea") for p in paths]
    if ed.year != 2020:
        return [p.name for p in paths], ed.encode(codes)
    labels = encode_labels(codes)
    if legacy_normal_rule:
        n_unscored = np.array([len(set(c) - set(_COLUMN)) for c in codes], dtype=np.intp)
        labels = apply_legacy_normal_rule(labels, n_unscored)
    return [p.name for p in paths], labels
