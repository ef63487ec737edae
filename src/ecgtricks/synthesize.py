"""Write a synthetic twin of the Challenge training archives (2020: six; 2021: eight).

    python -m ecgtricks.synthesize DEST [--edition 2020|2021] [--scale S] [--seed N] [--workers W]
                                        [--sources KEY ...] [--split-file PATH]

The tree is the one ``python -m ecgtricks.download DEST [--edition 2021]`` produces, so
``data=challenge2020 data.path=DEST`` (and ``split=leave_one_source_out`` or ``split=dsail2020``)
reads it unchanged. 2020 (the default): ``--scale 1`` is the full 43,101 records, ``--scale 0.05``
about 2,150; 2021 adds Chapman-Shaoxing and Ningbo: 88,253 records at ``--scale 1``, and draws the
26 classes of the 2021 scorer. Deterministic for (seed, record); an interrupted run finishes the
rest when run again.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.data.sources import EDITION_SOURCES, SPLIT_FILE, SPLIT_SHA256
from ecgtricks.synth.twin import EDITIONS, synthesize
from ecgtricks.utils.console import setup_logging, user_errors
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import sha256sum


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.synthesize", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--edition", type=int, default=2020, choices=EDITIONS,
                        help="the training set to twin: 2020 (six archives) or 2021 (eight)")
    parser.add_argument("--scale", type=float, default=1.0, help="share of each source's records (0, 1]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    every = list(dict.fromkeys(key for table in EDITION_SOURCES.values() for key in table))
    parser.add_argument("--sources", nargs="+", default=None, choices=every, metavar="KEY",
                        help="; ".join(f"{year}: {' '.join(table)}" for year, table in EDITION_SOURCES.items())
                        + " (default: all of the edition's)")
    parser.add_argument("--split-file", type=Path, default=None,
                        help="the paper's split.json, copied in (sha256-checked) for split=dsail2020")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    table = EDITION_SOURCES[args.edition]
    foreign = [key for key in args.sources or () if key not in table]
    if foreign:
        parser.error(f"--sources {' '.join(foreign)}: not in the {args.edition} training set "
                     f"(its sources: {' '.join(table)})")
    setup_logging()
    if args.split_file is not None:
        if sha256sum(args.split_file) != SPLIT_SHA256:
            raise ECGTricksError(f"{args.split_file}: not the paper's split.json (sha256 differs)")
        args.dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.split_file, args.dest / SPLIT_FILE)
    s = synthesize(args.dest, args.scale, args.seed, workers=args.workers, sources=args.sources,
                   progress=not args.no_progress, edition=args.edition)
    from ecgtricks.scoring.editions import edition

    n_classes = edition(args.edition).n_classes
    data = f"data=challenge{args.edition}"
    print(f"{s['records']} records ({s['written']} written now) in {len(s['per_source'])} sources, "
          f"{s['scored_classes']}/{n_classes} scored classes, {s['bytes'] / 2**30:.2f} GiB, "
          f"{s['seconds']:.1f} s -> {args.dest}; train with: python -m ecgtricks.train {data} "
          f"data.path={args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
