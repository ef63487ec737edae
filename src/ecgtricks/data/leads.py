"""The standard 12-lead order, the Challenge 2021 lead sets, and a record's signal put into a
requested lead order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecgtricks.data.record import Record
from ecgtricks.utils.errors import RecordError

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
# The reduced-lead sets of the 2021 challenge ("Will two do?"), by their number of leads.
LEAD_SETS: dict[int, tuple[str, ...]] = {
    12: STANDARD_LEADS,
    6: ("I", "II", "III", "aVR", "aVL", "aVF"),
    4: ("I", "II", "III", "V2"),
    3: ("I", "II", "V2"),
    2: ("I", "II"),
}


def lead_set(n: int | str) -> list[str]:
    """The leads of the Challenge's ``n``-lead set (``leads=2`` -> ``[I, II]``)."""
    try:
        return list(LEAD_SETS[int(n)])
    except (KeyError, ValueError):
        raise ValueError(f"leads={n!r}: the lead sets are {sorted(LEAD_SETS, reverse=True)}") from None


def order_leads(record: Record, leads: Sequence[str]) -> np.ndarray:
    """``record.signal`` with its leads in ``leads`` order (names matched case-insensitively)."""
    have = [n.lower() for n in record.lead_names]
    want = [n.lower() for n in leads]
    if have == want:
        return record.signal
    missing = [n for n, w in zip(leads, want, strict=False) if w not in have]
    if missing:
        raise RecordError(record.path.with_suffix(".hea"), f"lacks leads {missing} (has {list(record.lead_names)})")
    return record.signal[[have.index(w) for w in want]]
