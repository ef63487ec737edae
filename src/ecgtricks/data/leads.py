"""The standard 12-lead order, and a record's signal put into a requested lead order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecgtricks.data.record import Record
from ecgtricks.utils.errors import RecordError

STANDARD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


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
