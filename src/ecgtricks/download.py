"""Fetch the PhysioNet/CinC Challenge training archives (2020: six, 2021: eight) and the paper's split.

    python -m ecgtricks.download DEST [--edition 2020|2021] [--sources cpsc ningbo ...] [--url-base URL] [--split-only]

Each archive is downloaded into ``DEST/archives/`` (resumable: an interrupted ``.part`` file is
continued with an HTTP Range request), verified (its size against the server's, its MD5 where the
challenge's is known, and the record count after extraction), then extracted safely (no paths
outside the target) into ``DEST/<source>/`` through a temporary directory renamed into place.
A source already extracted and verified is skipped. Then the paper's 10-fold split
(``DEST/dsail2020_split.json``, checked against its pinned sha256) for ``split=dsail2020``.
Train with ``data=challenge2020 data.path=DEST`` (``data=challenge2021`` for the 2021 set).
``--url-base`` takes a mirror's base or a template with ``{archive}``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.data.archives import STAMP, URL_BASES, download, fetch_split
from ecgtricks.data.sources import EDITION_SOURCES, PAPER_SOURCES, SPLIT_URL
from ecgtricks.utils.console import setup_logging, user_errors


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.download", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--edition", type=int, default=2020, choices=sorted(EDITION_SOURCES),
                        help="the challenge's training set: 2020 (six sources) or 2021 (eight)")
    parser.add_argument("--sources", nargs="+", default=None, choices=list(EDITION_SOURCES[2021]),
                        help=f"default: all of the edition's; the paper used {' '.join(PAPER_SOURCES)}")
    parser.add_argument("--url-base", default=None,
                        help="a mirror holding the same archive names (a base, or a template with {archive}); "
                             "default: the edition's")
    parser.add_argument("--split-url", default=SPLIT_URL, help="where the paper's split.json is fetched from")
    parser.add_argument("--split-only", action="store_true", help="fetch only the paper's split file")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    setup_logging()
    if args.split_only:
        print(f"the paper's split: {fetch_split(args.dest, args.split_url)}")
        return 0
    table = EDITION_SOURCES[args.edition]
    dirs = download(args.dest, args.sources or list(table), args.url_base or URL_BASES[args.edition],
                    table=table, progress=not args.no_progress)
    fetch_split(args.dest, args.split_url)
    total = sum(json.loads((d / STAMP).read_text())["records"] for d in dirs)
    print(f"{total} records in {len(dirs)} sources under {args.dest}; "
          f"train with: python -m ecgtricks.train data=challenge{args.edition} data.path={args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
