"""The finished runs of a sweep, grouped by (experiment, variant), and their out-of-fold predictions.

The reference of a group is the group of the same experiment whose runs have the same
result-changing overrides (read from the summaries) without any ``+trick``/``without`` item:
the baseline for ``+trick=...``, the full recipe for ``without=...``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_TRICK_KEYS = ("trick", "without")


@dataclass
class Group:
    experiment: str
    variant: str
    rest: tuple[str, ...] = ()  # result-changing overrides other than tricks
    plain: bool = True  # no trick added or removed: a reference
    summaries: dict[int, dict[str, Any]] = field(default_factory=dict)  # by fold
    run_dirs: dict[int, Path] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.variant}"

    def scores(self, metric: str = "challenge_score") -> dict[int, float]:
        return {fold: float(s[metric]) for fold, s in self.summaries.items()}

    def predictions(self, fold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validation labels, probabilities and saved thresholds of one fold's model."""
        from ecgtricks.runs.modeldir import META, OOF

        model = self.run_dirs[fold] / "model"
        saved = np.load(model / OOF)
        thresholds = np.asarray(json.loads((model / META).read_text())["thresholds"])
        return saved["labels"].astype(bool), saved["probabilities"], thresholds

    def config(self) -> dict[str, Any]:
        """The resolved config of one of its runs, as its model directory keeps it."""
        from omegaconf import OmegaConf

        from ecgtricks.runs.modeldir import CONFIG

        path = self.run_dirs[min(self.run_dirs)] / "model" / CONFIG
        return OmegaConf.to_container(OmegaConf.load(path)) if path.is_file() else {}


def split_overrides(overrides: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """The result-changing overrides other than tricks (sorted; ``data.path`` as its dataset
    label), and whether no trick is added or removed (``+trick=[]`` counts as none)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from ecgtricks.runs.rundir import PATH_KEYS, dataset_label, is_result_key

    rest, plain = [], True
    for o in OverridesParser.create().parse_overrides([str(x) for x in overrides]):
        key = o.key_or_group
        if key in _TRICK_KEYS:
            plain = plain and (o.is_delete() or o.value() in (None, "", []))
        elif key == "data.path":
            rest.append(f"data.path={dataset_label(o.value())}")
        elif is_result_key(key) and key not in PATH_KEYS:
            rest.append(o.input_line)
    return tuple(sorted(rest)), plain


def collect(sweep_dir: Path) -> list[Group]:
    """Finished runs below ``sweep_dir``, grouped by (experiment, variant)."""
    groups: dict[tuple[str, str], Group] = {}
    for path in sorted(sweep_dir.rglob("summary.json")):
        summary = json.loads(path.read_text())
        run_dir = path.parent
        key = (str(summary.get("name", run_dir.parent.parent.name)), run_dir.parent.name)
        if key not in groups:
            rest, plain = split_overrides(summary.get("overrides", []))
            groups[key] = Group(*key, rest=rest, plain=plain)
        groups[key].summaries[int(summary["fold"])] = summary
        groups[key].run_dirs[int(summary["fold"])] = run_dir
    # References first within each experiment, then the variants by name.
    return sorted(groups.values(), key=lambda g: (g.experiment, not g.plain, g.variant))


def pooled_out_of_fold(group: Group) -> tuple[float, np.ndarray]:
    """Challenge score and per-class F1 of all folds' validation predictions pooled, each fold
    binarised with the thresholds its model directory saved."""
    from ecgtricks.scoring import metrics

    labels, binary = [], []
    for fold in group.run_dirs:
        y, p, thresholds = group.predictions(fold)
        labels.append(y)
        binary.append(p >= thresholds)
    y, b = np.concatenate(labels), np.concatenate(binary)
    return metrics.challenge_score(y, b), metrics.f_measure(y, b)[1]


def crossfit_scores(group: Group) -> dict[int, float]:
    """Per fold k: the challenge score of fold k with thresholds tuned on the pooled out-of-fold
    predictions of the other folds (the run's own threshold candidates). Empty under 2 folds."""
    from ecgtricks.scoring import metrics
    from ecgtricks.scoring.postprocess import apply_thresholds, tune_thresholds

    folds = sorted(group.run_dirs)
    if len(folds) < 2:
        return {}
    candidates = (group.config().get("postprocess") or {}).get("candidates", "grid")
    data = {fold: group.predictions(fold)[:2] for fold in folds}
    scores = {}
    for fold in folds:
        y_rest = np.concatenate([data[f][0] for f in folds if f != fold])
        p_rest = np.concatenate([data[f][1] for f in folds if f != fold])
        thresholds = tune_thresholds(y_rest, p_rest, candidates=candidates)
        y, p = data[fold]
        scores[fold] = metrics.challenge_score(y, apply_thresholds(p, thresholds))
    return scores
