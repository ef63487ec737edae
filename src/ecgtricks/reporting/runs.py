"""The finished runs of a sweep, grouped by (experiment, variant), and their out-of-fold predictions.

Runs that differ only in ``seed`` are repetitions of one variant: a group holds its runs by
(seed, fold). The reference of a group is the group of the same experiment whose runs have the
same result-changing overrides (read from the summaries, ``seed`` aside) without any
``+trick``/``without`` item: the baseline for ``+trick=...``, the full recipe for ``without=...``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_TRICK_KEYS = ("trick", "without")
REPETITION_KEY = "seed"
_TOKEN = re.compile(r",(?![^\[]*\])")  # commas between overrides, not inside [a,b] values

RunKey = tuple[int, int]  # (seed, fold)


def split_variant(variant: str) -> list[str]:
    """The overrides a variant directory name is made of."""
    return _TOKEN.split(variant)


def without_seed(variant: str) -> str:
    """A variant's name with its ``seed=`` override left out: the name of its repetitions."""
    kept = [t for t in split_variant(variant) if not t.startswith(f"{REPETITION_KEY}=")]
    return ",".join(kept) or "default"


@dataclass
class Group:
    experiment: str
    variant: str
    rest: tuple[str, ...] = ()  # result-changing overrides other than tricks and seed
    plain: bool = True  # no trick added or removed: a reference
    summaries: dict[RunKey, dict[str, Any]] = field(default_factory=dict)
    run_dirs: dict[RunKey, Path] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.experiment}/{self.variant}"

    @property
    def edition(self) -> int:
        """The challenge edition its runs were scored with (summaries before editions: 2020)."""
        return int(next(iter(self.summaries.values())).get("edition", 2020))

    @property
    def seeds(self) -> list[int]:
        return sorted({seed for seed, _ in self.summaries})

    @property
    def folds(self) -> list[int]:
        return sorted({fold for _, fold in self.summaries})

    def scores(self, metric: str = "challenge_score") -> dict[RunKey, float]:
        return {key: float(s[metric]) for key, s in self.summaries.items()}

    def val_train_ratio(self, key: RunKey) -> float:
        """``n_val / n_train`` of one run: how much two of its training sets overlap."""
        summary = self.summaries[key]
        return float(summary["n_val"]) / float(summary["n_train"])

    def predictions(self, key: RunKey) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validation labels, probabilities and saved thresholds of one run's model."""
        from ecgtricks.runs.modeldir import META, OOF

        model = self.run_dirs[key] / "model"
        saved = np.load(model / OOF)
        thresholds = np.asarray(json.loads((model / META).read_text())["thresholds"])
        return saved["labels"].astype(bool), saved["probabilities"], thresholds

    def config(self) -> dict[str, Any]:
        """The resolved config of one of its runs, as its model directory keeps it."""
        return _run_config(self.run_dirs[min(self.run_dirs)])


def _run_config(run_dir: Path) -> dict[str, Any]:
    from omegaconf import OmegaConf

    from ecgtricks.runs.modeldir import CONFIG

    path = run_dir / "model" / CONFIG
    return OmegaConf.to_container(OmegaConf.load(path)) if path.is_file() else {}


def split_overrides(overrides: Sequence[str]) -> tuple[tuple[str, ...], bool]:
    """The result-changing overrides other than tricks and ``seed`` (sorted; ``data.path`` as its
    dataset label), and whether no trick is added or removed (``+trick=[]`` counts as none)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from ecgtricks.runs.rundir import PATH_KEYS, dataset_label, is_result_key

    rest, plain = [], True
    for o in OverridesParser.create().parse_overrides([str(x) for x in overrides]):
        key = o.key_or_group
        if key in _TRICK_KEYS:
            plain = plain and (o.is_delete() or o.value() in (None, "", []))
        elif key == "data.path":
            rest.append(f"data.path={dataset_label(o.value())}")
        elif is_result_key(key) and key not in PATH_KEYS and key != REPETITION_KEY:
            rest.append(o.input_line)
    return tuple(sorted(rest)), plain


def run_seed(summary: dict[str, Any], run_dir: Path) -> int:
    """The seed of a run: its summary's (written since repetitions are pooled), else its saved
    config's."""
    if "seed" in summary:
        return int(summary["seed"])
    return int(_run_config(run_dir).get("seed", 0))


def collect(sweep_dir: Path) -> list[Group]:
    """Finished runs below ``sweep_dir``, grouped by (experiment, variant without its seed)."""
    groups: dict[tuple[str, str], Group] = {}
    for path in sorted(sweep_dir.rglob("summary.json")):
        summary = json.loads(path.read_text())
        run_dir = path.parent
        experiment = str(summary.get("name", run_dir.parent.parent.name))
        key = (experiment, without_seed(run_dir.parent.name))
        if key not in groups:
            rest, plain = split_overrides(summary.get("overrides", []))
            groups[key] = Group(*key, rest=rest, plain=plain)
        run_key = (run_seed(summary, run_dir), int(summary["fold"]))
        groups[key].summaries[run_key] = summary
        groups[key].run_dirs[run_key] = run_dir
    # References first within each experiment, then the variants by name.
    return sorted(groups.values(), key=lambda g: (g.experiment, not g.plain, g.variant))


def pooled_out_of_fold(group: Group) -> tuple[float, np.ndarray]:
    """Challenge score and per-class F1 of all folds' validation predictions pooled (each fold
    binarised with the thresholds its model saved), one pool per seed, averaged over seeds."""
    from ecgtricks.scoring import metrics

    scores, f1s = [], []
    for seed in group.seeds:
        labels, binary = [], []
        for key in sorted(k for k in group.run_dirs if k[0] == seed):
            y, p, thresholds = group.predictions(key)
            labels.append(y)
            binary.append(p >= thresholds)
        y, b = np.concatenate(labels), np.concatenate(binary)
        scores.append(metrics.challenge_score(y, b, edition=group.edition))
        f1s.append(metrics.f_measure(y, b)[1])
    f1 = np.array(f1s, dtype=float)
    defined = ~np.isnan(f1)  # a class without positives or predictions has no F1 in that seed
    counts = defined.sum(axis=0)
    per_class = np.where(counts > 0, np.where(defined, f1, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)
    return float(np.mean(scores)), per_class


def crossfit_scores(group: Group) -> dict[RunKey, float]:
    """Per run (seed, fold k): the challenge score of fold k with thresholds tuned on the pooled
    out-of-fold predictions of the same seed's other folds (the run's own threshold candidates).
    Empty for a seed with fewer than 2 folds."""
    from ecgtricks.scoring import metrics
    from ecgtricks.scoring.postprocess import apply_thresholds, tune_thresholds

    candidates = (group.config().get("postprocess") or {}).get("candidates", "grid")
    scores = {}
    for seed in group.seeds:
        keys = sorted(k for k in group.run_dirs if k[0] == seed)
        if len(keys) < 2:
            continue
        data = {key: group.predictions(key)[:2] for key in keys}
        for key in keys:
            y_rest = np.concatenate([data[k][0] for k in keys if k != key])
            p_rest = np.concatenate([data[k][1] for k in keys if k != key])
            thresholds = tune_thresholds(y_rest, p_rest, candidates=candidates, edition=group.edition)
            y, p = data[key]
            scores[key] = metrics.challenge_score(y, apply_thresholds(p, thresholds), edition=group.edition)
    return scores


def missing_runs(groups: Sequence[Group]) -> dict[str, list[RunKey]]:
    """Per group (by key), the (seed, fold) runs that its family -- its reference and the other
    variants of that reference: same experiment, same other overrides -- has and it lacks (a
    cancelled or failed job, a sweep not finished). Groups that lack none are left out."""
    families: dict[tuple[str, tuple[str, ...]], list[Group]] = {}
    for g in groups:
        families.setdefault((g.experiment, g.rest), []).append(g)
    missing = {}
    for family in families.values():
        expected = set().union(*(g.summaries for g in family))
        for g in family:
            lacking = sorted(expected - set(g.summaries))
            if lacking:
                missing[g.key] = lacking
    return missing


def describe_missing(keys: Sequence[RunKey]) -> str:
    """``missing fold 1 (seed 0)``, ``missing folds 1, 2 (seed 0), fold 0 (seed 1)``."""
    parts = []
    for seed in sorted({s for s, _ in keys}):
        folds = sorted(f for s, f in keys if s == seed)
        parts.append(f"fold{'s' if len(folds) > 1 else ''} {', '.join(map(str, folds))} (seed {seed})")
    return "missing " + ", ".join(parts)
