"""Score a folder of Challenge 2020 output files against the labels of a folder of headers.

``python -m ecgtricks.evaluate LABEL_DIR OUTPUT_DIR [SCORES_CSV]``

The command line of the official ``evaluate_12ECG_score.py`` (physionetchallenges/
evaluation-2020) at its final revision, with the same seven scores printed with six decimals
(the official script prints three): equal to that script to 1e-6 on every folder it accepts
(tested with the script itself as the oracle). Where it would stop with an exception -- a
missing output file, a ``# Dx:`` header -- this scores on: a missing output file is reported on
stderr and scored as all negative, and ``# Dx:`` labels are read. Files the official reader
reads with a formatting error (scored negative there too) or with odd tokens are named on
stderr, one line each. ``--legacy-normal-rule`` applies the mid-2020 loaders' normal-class rule,
which the final scorer does not have.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.scoring.metrics import evaluate
from ecgtricks.scoring.outputs import load_labels, load_outputs
from ecgtricks.utils.console import user_errors
from ecgtricks.utils.errors import ECGTricksError
from ecgtricks.utils.files import atomic_write_bytes

HEADER = "AUROC,AUPRC,Accuracy,F-measure,Fbeta-measure,Gbeta-measure,Challenge metric"
_KEYS = ("auroc", "auprc", "accuracy", "f_measure", "fbeta", "gbeta", "challenge_score")


def format_scores(results: dict[str, float]) -> str:
    """The two lines of the official scores file (header and values), newline terminated."""
    return HEADER + "\n" + ",".join(f"{results[k]:.6f}" for k in _KEYS) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecgtricks.evaluate",
        description="Score Challenge 2020 output files (OUTPUT_DIR/NAME.csv) against the "
        "Dx labels of the headers in LABEL_DIR.",
    )
    parser.add_argument("label_dir", type=Path, help="folder of .hea files (searched recursively)")
    parser.add_argument("output_dir", type=Path, help="folder of NAME.csv output files")
    parser.add_argument("scores_csv", type=Path, nargs="?", help="also write the scores here")
    parser.add_argument(
        "--legacy-normal-rule",
        action="store_true",
        help="NOT the final official scorer: the mid-2020 loaders' clean-up of labels and binary "
        "outputs (a row without positives gets the normal class, which is dropped when other "
        "classes are positive), removed from the official scorer on 2020-07-19",
    )
    return parser


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    for what, folder in (("label", args.label_dir), ("output", args.output_dir)):
        if not folder.is_dir():
            raise ECGTricksError(f"{what} directory {folder} does not exist")
    names, labels = load_labels(args.label_dir, legacy_normal_rule=args.legacy_normal_rule)
    binary, scores, problems = load_outputs(
        args.output_dir, names, legacy_normal_rule=args.legacy_normal_rule
    )
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    text = format_scores(evaluate(labels, scores, binary))
    print(text, end="")
    if args.scores_csv is not None:
        try:
            atomic_write_bytes(args.scores_csv, text.encode())
        except OSError as exc:
            raise ECGTricksError(f"cannot write {args.scores_csv}: {exc.strerror}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
