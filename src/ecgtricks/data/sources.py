"""The six Challenge 2020 training sources: what each archive holds (one place for the download,
the synthetic twin and the paper's split).

Facts from the challenge's published archives, its ``dx_mapping_*.csv`` tables (per-source class
counts, ``tables/dx_counts_2020.csv``) and the paper's ``config/split.json`` (record names: every
number from 1 to the last, less the ``missing`` ones).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class Source:
    key: str  # folder under data.path
    archive: str  # the challenge's archive file name
    records: int  # .hea files the archive holds
    md5: str | None = None  # where the challenge published one
    split_key: str = ""  # the source's name in the paper's split.json
    prefix: str = ""  # record names: prefix + zero-padded number
    digits: int = 4
    fs: float = 500.0  # sampling rate (Hz) of every record
    missing: tuple[int, ...] = ()  # numbers from 1 to the last that no record has
    title: str = ""  # the name reports and leave-one-source-out use

    def names(self) -> list[str]:
        """Every record name of the archive, in order (``Q0001``, ``Q0002``, ``Q0004`` ...)."""
        last = self.records + len(self.missing)
        gone = set(self.missing)
        return [f"{self.prefix}{i:0{self.digits}d}" for i in range(1, last + 1) if i not in gone]


_CPSC_EXTRA_MISSING = (
    8, 9, 111, 202, 213, 311, 317, 352, 361, 371, 457, 465, 503, 519, 564, 567, 600, 616, 637,
    674, 689, 723, 725, 728, 743, 807, 866, 931, 963, 1002, 1011, 1027, 1031, 1036, 1059, 1093,
    1099, 1118, 1145, 1151, 1155, 1206, 1273, 1306, 1311, 1328, 1384, 1429, 1440, 1515, 1569,
    1570, 1592, 1605, 1645, 1677, 1684, 1685, 1688, 1716, 1721, 1741, 1778, 1837, 1853, 1855,
    1863, 1869, 1880, 1882, 1884, 1897, 1951, 1973, 1999, 2052, 2090, 2092, 2160, 2192, 2293,
    2341, 2398, 2407, 2415, 2425, 2441, 2548, 2592, 2598, 2627, 2657, 2664, 2673, 2691, 2695,
    2725, 2768, 2812, 2830, 2863, 2933, 2955, 2963, 2987, 3059, 3109, 3116, 3135, 3150, 3171,
    3232, 3236, 3254, 3259, 3300, 3339, 3386, 3399, 3407, 3413, 3421, 3425, 3426, 3461, 3480,
    3504, 3564,
)
_PTB_MISSING = (
    334, 339, 349, 356, 357, 359, 368, 376, 378, 379, 383, 396, 398, 399, 407, 408, 413, 417,
    418, 419, 420, 422, 424, 430, 492, 516, 517, 520, 523, 524, 525, 531, 537,
)

SOURCES: dict[str, Source] = {s.key: s for s in (
    Source("cpsc", "PhysioNetChallenge2020_Training_CPSC.tar.gz", 6877, "8180611b87209d3897b0735a56780204",
           "CPSC", "A", 4, 500.0, (), "CPSC"),
    Source("cpsc_extra", "PhysioNetChallenge2020_Training_2.tar.gz", 3453, None,
           "CPSC-Extra", "Q", 4, 500.0, _CPSC_EXTRA_MISSING, "CPSC-Extra"),
    Source("incart", "PhysioNetChallenge2020_Training_StPetersburg.tar.gz", 74, None,
           "StPetersburg", "I", 4, 257.0, (36,), "INCART"),
    Source("ptb", "PhysioNetChallenge2020_Training_PTB.tar.gz", 516, None,
           "PTB", "S", 4, 1000.0, _PTB_MISSING, "PTB"),
    Source("ptbxl", "PhysioNetChallenge2020_Training_PTB-XL.tar.gz", 21837, None,
           "PTB-XL", "HR", 5, 500.0, (), "PTB-XL"),
    Source("georgia", "PhysioNetChallenge2020_Training_E.tar.gz", 10344, None,
           "Georgia", "E", 5, 500.0, (), "Georgia"),
)}
PAPER_SOURCES = ("cpsc", "cpsc_extra", "ptbxl", "georgia")  # what Min et al. trained on

# The paper's own 10-fold split (config/split.json of its repository, BSD 2-Clause), pinned.
SPLIT_URL = ("https://raw.githubusercontent.com/seonwoo-min/PhysioNet-Challange-2020/"
             "b613698/config/split.json")
SPLIT_SHA256 = "4dfc4bfe2e3bb5106b713c0a52a63ac34bd492ca931a06bc4b151ed6db69643a"
SPLIT_FILE = "dsail2020_split.json"  # under DEST, where split=dsail2020 looks by default


@dataclass(frozen=True)
class DxCount:
    code: str
    abbreviation: str
    description: str
    scored: bool
    per_source: dict[str, int]  # source key -> records carrying the code


@lru_cache(maxsize=1)
def dx_counts() -> tuple[DxCount, ...]:
    """Every diagnosis of the 2020 training data (27 scored codes, 84 unscored) with its count per
    source: the challenge's ``dx_mapping_scored.csv`` and ``dx_mapping_unscored.csv``."""
    text = resources.files("ecgtricks.scoring.tables").joinpath("dx_counts_2020.csv").read_text()
    return tuple(
        DxCount(row["code"], row["abbreviation"], row["description"], row["scored"] == "1",
                {key: int(row[key]) for key in SOURCES})
        for row in csv.DictReader(text.splitlines())
    )
