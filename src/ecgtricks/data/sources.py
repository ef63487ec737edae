"""The Challenge training sources, 2020 (six archives) and 2021 (eight): what each archive holds
(one place for the download, the synthetic twin and the paper's split).

Facts from the challenge's published archives, its ``dx_mapping_*.csv`` tables (per-source class
counts, ``tables/dx_counts_2020.csv`` and ``dx_counts_2021.csv``) and the paper's
``config/split.json`` (record names: every number from 1 to the last, less the ``missing`` ones).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
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
    start: int = 1  # the first record number (Ningbo continues Chapman-Shaoxing's JS numbers)

    def names(self) -> list[str]:
        """Every record name of the archive, in order (``Q0001``, ``Q0002``, ``Q0004`` ...)."""
        last = self.start - 1 + self.records + len(self.missing)
        gone = set(self.missing)
        return [f"{self.prefix}{i:0{self.digits}d}" for i in range(self.start, last + 1) if i not in gone]


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

# The 2021 training set: the same six (as the 2021 challenge re-packed them, WFDB_*.tar.gz) plus
# Chapman-Shaoxing and Ningbo, 500 Hz and 10 s, both named JS + 5 digits: Chapman-Shaoxing's 10,247
# records lie in JS00001-JS10646 (which 399 numbers are unused is not among the published facts
# used here; the twin numbers them without gaps), Ningbo's 34,905 are JS10647-JS45551, no gaps.
_ARCHIVES_2021 = {
    "cpsc": "WFDB_CPSC2018.tar.gz", "cpsc_extra": "WFDB_CPSC2018_2.tar.gz",
    "incart": "WFDB_StPetersburg.tar.gz", "ptb": "WFDB_PTB.tar.gz", "ptbxl": "WFDB_PTBXL.tar.gz",
    "georgia": "WFDB_Ga.tar.gz",
}
SOURCES_2021: dict[str, Source] = {
    **{key: replace(SOURCES[key], archive=archive, md5=None) for key, archive in _ARCHIVES_2021.items()},
    "chapman_shaoxing": Source("chapman_shaoxing", "WFDB_ChapmanShaoxing.tar.gz", 10247, None,
                               "ChapmanShaoxing", "JS", 5, 500.0, (), "Chapman-Shaoxing"),
    "ningbo": Source("ningbo", "WFDB_Ningbo.tar.gz", 34905, None, "Ningbo", "JS", 5, 500.0, (), "Ningbo",
                     start=10647),
}
EDITION_SOURCES: dict[int, dict[str, Source]] = {2020: SOURCES, 2021: SOURCES_2021}

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


@lru_cache(maxsize=2)
def dx_counts(edition: int = 2020) -> tuple[DxCount, ...]:
    """Every diagnosis of an edition's training data with its count per source: the challenge's
    ``dx_mapping_scored.csv`` and ``dx_mapping_unscored.csv`` (``tables/dx_counts_YEAR.csv``).

    2020: 27 scored codes and 84 unscored over the six sources of :data:`SOURCES`; 2021: 30 scored
    and 103 unscored over the eight of :data:`SOURCES_2021` (the six keep their 2020 counts).
    """
    if edition not in EDITION_SOURCES:
        raise ValueError(f"no training data of edition {edition!r}: "
                         f"the editions are {sorted(EDITION_SOURCES)}")
    name = f"dx_counts_{edition}.csv"
    text = resources.files("ecgtricks.scoring.tables").joinpath(name).read_text()
    return tuple(
        DxCount(row["code"], row["abbreviation"], row["description"], row["scored"] == "1",
                {key: int(row[key]) for key in EDITION_SOURCES[edition]})
        for row in csv.DictReader(text.splitlines())
    )
