"""The ablation report of a sweep: ``python -m ecgtricks.report SWEEP_DIR [--out DIR] [--wandb]``.

Finds every finished run (``summary.json``) below SWEEP_DIR and groups them by experiment and
variant (the run directory's name). Per group, over the folds it finished:

* **score @0.5** -- the challenge score (final official 2020 metric) of each fold's validation
  set at threshold 0.5, mean ± std over folds;
* **tuned, cross-fitted** -- for each fold k, class-wise thresholds tuned on the pooled
  out-of-fold predictions of the *other* folds, applied to fold k: an honest estimate of what
  threshold tuning gives on unseen records (needs two folds or more);
* **tuned on own fold (optimistic)** -- thresholds tuned on the very fold they score: an upper
  bound, not an estimate;
* **pooled OOF** -- all folds' out-of-fold predictions scored at once, each fold binarised with
  the thresholds its model saved;
* Δ against the group's reference at threshold 0.5: the paired mean difference over the folds
  both finished, its 95 % confidence interval (t over the paired differences), the p-value
  (Wilcoxon signed-rank from 6 pairs, paired t below) and ``p_holm``, Holm–Bonferroni-adjusted
  over all groups compared with the same reference.

The reference of a group is the group of the same experiment whose runs have the same
result-changing overrides (read from the summaries) without any ``+trick``/``without`` item:
the baseline for ``+trick=...``, the full recipe for ``without=...``. Classes are shown by the
challenge's abbreviation and code (``AF 164889003``).

Writes ``ablation.md``, ``ablation.csv``, ``per_class_f1.csv``, ``delta.png`` and
``per_class_f1.png``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.reporting.write import log_to_wandb, write_report
from ecgtricks.utils.console import setup_logging, user_errors
from ecgtricks.utils.errors import ECGTricksError


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a directory of runs, e.g. outputs/ or a multirun dir")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: SWEEP_DIR)")
    parser.add_argument("--wandb", action="store_true", help="also log the table and figures to W&B")
    args = parser.parse_args(argv)
    setup_logging()
    if not args.sweep_dir.is_dir():
        raise ECGTricksError(f"{args.sweep_dir} is not a directory")
    out_dir = args.out or args.sweep_dir
    rows, groups = write_report(args.sweep_dir, out_dir)
    print((out_dir / "ablation.md").read_text())
    print(f"-> {out_dir / 'ablation.md'}, ablation.csv, per_class_f1.csv, delta.png, per_class_f1.png")
    if args.wandb:
        log_to_wandb(rows, groups, out_dir, args.sweep_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
