"""Score a folder of Challenge output files against the labels of a folder of headers.

``python -m ecgtricks.evaluate LABEL_DIR OUTPUT_DIR [SCORES_CSV] [--edition 2020|2021]``

The command line of the final official scorer of the edition, printing the same scores with six
decimals (the official scripts print three), equal to that scorer to 1e-6 on every folder it
accepts (tested with the scorers themselves as oracles):

* ``--edition 2020`` (the default): ``evaluate_12ECG_score.py`` (physionetchallenges/
  evaluation-2020), seven scores ``AUROC,AUPRC,Accuracy,F-measure,Fbeta-measure,Gbeta-measure,
  Challenge metric``;
* ``--edition 2021``: ``evaluate_model.py`` (physionetchallenges/evaluation-2021), five scores
  ``AUROC,AUPRC,Accuracy,F-measure,Challenge metric``, its 26 classes and ``a|b`` class entries.

Where the official scorer would stop with an exception -- a missing output file, a ``# Dx:``
header (2020), an output file of fewer than four lines (2021) -- this scores on: the output is
reported on stderr and scored as all negative, and ``# Dx:`` labels are read (in both editions;
the 2021 scorer reads no label from such a header). Files the official reader reads with a
formatting error (scored negative there too) or with odd tokens are named on stderr, one line
each. ``--legacy-normal-rule`` (2020 only) applies the mid-2020 loaders' normal-class rule,
which the final scorer does not have.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.scoring.editions import EDITIONS, Edition
from ecgtricks.scoring.editions import edition as _edition
from ecgtricks.scoring.label_files import load_labels
from ecgtricks.scoring.metrics import evaluate
from ecgtricks.scoring.outputs import load_outputs
from ecgtricks.utils.console import user_errors
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import atomic_write_bytes

HEADERS = {year: ",".join(ed.score_names) for year, ed in EDITIONS.items()}
HEADER = HEADERS[2020]  # "AUROC,AUPRC,Accuracy,F-measure,Fbeta-measure,Gbeta-measure,Challenge metric"


def format_scores(results: dict[str, float], edition: int | str | Edition = 2020) -> str:
    """The two lines of the official scores file (header and values), newline terminated."""
    ed = _edition(edition)
    return HEADERS[ed.year] + "\n" + ",".join(f"{results[k]:.6f}" for k in ed.scores) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecgtricks.evaluate",
        description="Score Challenge output files (OUTPUT_DIR/NAME.csv) against the Dx labels "
        "of the headers in LABEL_DIR, as the final official scorer of the edition does.",
    )
    parser.add_argument("label_dir", type=Path, help="folder of .hea files (searched recursively)")
    parser.add_argument("output_dir", type=Path, help="folder of NAME.csv output files")
    parser.add_argument("scores_csv", type=Path, nargs="?", help="also write the scores here")
    parser.add_argument(
        "--edition",
        type=int,
        choices=sorted(EDITIONS),
        default=2020,
        help="the Challenge year whose final scorer to reproduce (default 2020)",
    )
    parser.add_argument(
        "--legacy-normal-rule",
        action="store_true",
        help="2020 only, NOT the final official scorer: the mid-2020 loaders' clean-up of labels "
        "and binary outputs (a row without positives gets the normal class, which is dropped "
        "when other classes are positive), removed from the official scorer on 2020-07-19",
    )
    return parser


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.legacy_normal_rule and args.edition != 2020:
        parser.error("--legacy-normal-rule is a mid-2020 rule: only with --edition 2020")
    for what, folder in (("label", args.label_dir), ("output", args.output_dir)):
        if not folder.is_dir():
            raise ECGTricksError(f"{what} directory {folder} does not exist")
    ed = _edition(args.edition)
    names, labels = load_labels(
        args.label_dir, legacy_normal_rule=args.legacy_normal_rule, edition=ed
    )
    binary, scores, problems = load_outputs(
        args.output_dir, names, legacy_normal_rule=args.legacy_normal_rule, edition=ed
    )
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    text = format_scores(evaluate(labels, scores, binary, edition=ed), ed)
    print(text, end="")
    if args.scores_csv is not None:
        try:
            atomic_write_bytes(args.scores_csv, text.encode())
        except OSError as exc:
            raise ECGTricksError(f"cannot write {args.scores_csv}: {exc.strerror}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
