"""The ablation report of a sweep: ``python -m ecgtricks.report SWEEP_DIR [--out DIR] [--rope R] [--wandb]``.

Finds every finished run (``summary.json``) below SWEEP_DIR and groups them by experiment and
variant (the run directory's name without ``seed=``: seeds are repetitions). Per variant, over
its (seed, fold) runs: the challenge score at 0.5, tuned cross-fitted, tuned on its own fold
(optimistic), pooled out-of-fold, AUROC and F1; against its reference (the same overrides
without ``+trick``/``without``), the difference at threshold 0.5 with the corrected resampled
t-test and its CI, Holm's adjustment, the Bayesian correlated t-test's probabilities for the
ROPE and the minimum detectable effect (``ecgtricks.reporting``).

Writes ``ablation.md``, ``ablation.csv``, ``per_class_f1.csv``, ``delta.png``,
``per_class_f1.png`` and ``report.html`` (one self-contained page) and prints the page's path.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.reporting.stats import DEFAULT_ROPE
from ecgtricks.reporting.write import FILES, TRANSFER_FILES, log_to_wandb, write_report
from ecgtricks.utils.console import setup_logging, user_errors
from ecgtricks.utils.errors import ECGTricksError


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a directory of runs, e.g. outputs/ or a multirun dir")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: SWEEP_DIR)")
    parser.add_argument("--wandb", action="store_true", help="also log the table and figures to W&B")
    parser.add_argument("--rope", type=float, default=DEFAULT_ROPE,
                        help="half-width of the region of practical equivalence, in challenge score "
                             f"(default {DEFAULT_ROPE})")
    args = parser.parse_args(argv)
    setup_logging()
    if not args.sweep_dir.is_dir():
        raise ECGTricksError(f"{args.sweep_dir} is not a directory")
    out_dir = args.out or args.sweep_dir
    if not args.rope >= 0:
        raise ECGTricksError(f"--rope {args.rope} must be >= 0")
    rows, groups = write_report(args.sweep_dir, out_dir, rope=args.rope)
    print((out_dir / "ablation.md").read_text())
    print(f"-> {(out_dir / 'report.html').resolve()} (open in a browser); "
          f"also {', '.join(f for f in (*FILES, *TRANSFER_FILES) if f != 'report.html' and (out_dir / f).is_file())}"
          f" in {out_dir}")
    if args.wandb:
        log_to_wandb(rows, groups, out_dir, args.sweep_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
