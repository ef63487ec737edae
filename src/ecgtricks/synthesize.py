"""Write a synthetic twin of the six Challenge 2020 training archives.

    python -m ecgtricks.synthesize DEST [--scale S] [--seed N] [--workers W] [--split-file PATH]

The tree is the one ``python -m ecgtricks.download DEST`` produces, so ``data=challenge2020
data.path=DEST`` (and ``split=leave_one_source_out`` or ``split=dsail2020``) reads it unchanged.
``--scale 1`` is the full 43,101 records; ``--scale 0.05`` about 2,150. Deterministic for
(seed, record); an interrupted run finishes the rest when run again.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.data.sources import SOURCES, SPLIT_FILE, SPLIT_SHA256
from ecgtricks.synth.twin import synthesize
from ecgtricks.utils.console import setup_logging, user_errors
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import sha256sum


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.synthesize", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path)
    parser.add_argument("--scale", type=float, default=1.0, help="share of each source's records (0, 1]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    parser.add_argument("--split-file", type=Path, default=None,
                        help="the paper's split.json, copied in (sha256-checked) for split=dsail2020")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    setup_logging()
    if args.split_file is not None:
        if sha256sum(args.split_file) != SPLIT_SHA256:
            raise ECGTricksError(f"{args.split_file}: not the paper's split.json (sha256 differs)")
        args.dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.split_file, args.dest / SPLIT_FILE)
    s = synthesize(args.dest, args.scale, args.seed, workers=args.workers, sources=args.sources,
                   progress=not args.no_progress)
    print(f"{s['records']} records ({s['written']} written now) in {len(s['per_source'])} sources, "
          f"{s['scored_classes']}/24 scored classes, {s['bytes'] / 2**30:.2f} GiB, {s['seconds']:.1f} s "
          f"-> {args.dest}; train with: python -m ecgtricks.train data=challenge2020 data.path={args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
