"""Scoring of an edition of the challenge: class tables, metrics, output files, thresholds and ensembles.

Two editions, each the final official scorer of its year (:mod:`.editions`): 2020 (24 classes,
the default everywhere) and 2021 (26 classes, ``a|b`` equivalent codes, no F-beta/G-beta).
``edition`` is a year or an :class:`Edition`::

    ed = edition(2021)
    ed.classes        # (("164889003",), ..., ("733534002", "164909002"), ...): codes, representative first
    ed.codes          # the 26 representative codes: the column order of every array
    ed.abbreviations  # representative code -> "AF", ..., "LBBB", "RBBB", "PAC", "PVC"
    encode_labels(code_lists, edition=2021)       # (N, 26) bool
    weight_matrix(edition=2021)                   # (26, 26) float64
    challenge_score(y, b, edition=2021)           # the Challenge metric
    evaluate(y, p, b, edition=2021)               # {auroc, auprc, accuracy, f_measure, challenge_score}

:mod:`.outputs` reads and writes output files (``load_labels``, ``load_outputs``,
``write_output`` take ``edition=`` too), :mod:`.postprocess` tunes thresholds
(``tune_thresholds(..., edition=)``); ``python -m ecgtricks.evaluate ... --edition 2021``.
The module-level names of :mod:`.labels` (``SCORED_CLASSES`` ...) are the 2020 edition's.
"""

from ecgtricks.scoring.editions import EDITIONS, Edition, edition
from ecgtricks.scoring.labels import encode_labels, weight_matrix
from ecgtricks.scoring.metrics import challenge_score, evaluate

__all__ = [
    "EDITIONS",
    "Edition",
    "challenge_score",
    "edition",
    "encode_labels",
    "evaluate",
    "weight_matrix",
]
