"""Fetch the six PhysioNet/CinC Challenge 2020 training archives and the paper's split.

    python -m ecgtricks.download DEST [--sources cpsc cpsc_extra ...] [--url-base URL] [--split-only]

Each archive is downloaded into ``DEST/archives/`` (resumable: an interrupted ``.part`` file is
continued with an HTTP Range request), verified (its size against the server's, its MD5 where the
challenge's is known, and the record count after extraction), then extracted safely (no paths
outside the target) into ``DEST/<source>/`` through a temporary directory renamed into place.
A source already extracted and verified is skipped. Then the paper's 10-fold split
(``DEST/dsail2020_split.json``, checked against its pinned sha256) for ``split=dsail2020``.
Train with ``data=challenge2020 data.path=DEST``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.data.archives import STAMP, URL_BASE, download, fetch_split
from ecgtricks.data.sources import PAPER_SOURCES, SOURCES, SPLIT_URL
from ecgtricks.utils.console import setup_logging, user_errors


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.download", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES),
                        help=f"default: all six; the paper used {' '.join(PAPER_SOURCES)}")
    parser.add_argument("--url-base", default=URL_BASE, help="a mirror holding the same archive names")
    parser.add_argument("--split-url", default=SPLIT_URL, help="where the paper's split.json is fetched from")
    parser.add_argument("--split-only", action="store_true", help="fetch only the paper's split file")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    setup_logging()
    if args.split_only:
        print(f"the paper's split: {fetch_split(args.dest, args.split_url)}")
        return 0
    dirs = download(args.dest, args.sources, args.url_base, progress=not args.no_progress)
    fetch_split(args.dest, args.split_url)
    total = sum(json.loads((d / STAMP).read_text())["records"] for d in dirs)
    print(f"{total} records in {len(dirs)} sources under {args.dest}; "
          f"train with: python -m ecgtricks.train data=challenge2020 data.path={args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
