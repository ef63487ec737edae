"""A challenge model directory: every fold of a recipe trained into one folder, then the fold
ensemble's thresholds tuned on the pooled out-of-fold predictions (``challenge train``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ecgtricks.utils.errors import ConfigError
from ecgtricks.utils.paths import config_dir

FitFn = Callable[..., Any]


def train_all_folds(data_dir: Path, model_dir: Path, overrides: Sequence[str], fit: FitFn) -> list[float]:
    """Train every fold with ``fit`` (``training.fit.fit``, passed in so that run bookkeeping does
    not import the training loop); returns the folds' validation challenge scores (threshold 0.5)."""
    from hydra import compose, initialize_config_dir

    from ecgtricks.runs import config, recipes, rundir  # noqa: F401 (config registers the schema)

    if not data_dir.is_dir():
        raise ConfigError(f"{data_dir} is not a directory")
    base = [] if any(o.startswith("experiment=") for o in overrides) else ["experiment=dsail2020"]
    base += ["data=folder", f"data.path={data_dir.resolve()}", *overrides]
    scores = []
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        cfg = compose("train", overrides=base)
        if cfg.split.name == "leave_one_source_out":
            from ecgtricks.data.cache import prepare_cache

            n_folds = len(set(prepare_cache(cfg.data, cfg.preprocess, progress=False).sources))
        else:
            n_folds = int(cfg.data.n_folds)
        for fold in range(n_folds):
            run_dir = model_dir / f"fold{fold}"
            fold_overrides = [*base, f"fold={fold}"]
            cfg = recipes.resolve(compose("train", overrides=fold_overrides), fold_overrides)
            summary, _ = rundir.run_once(run_dir, cfg, fold_overrides, fit)
            scores.append(float(summary["challenge_score"]))
            shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)  # the model dir is what ships
    from ecgtricks.runs.modeldir import load_ensemble, save_ensemble_thresholds

    ensemble = load_ensemble(model_dir, thresholds="retune", fold_ensemble=True)
    n_records = sum(len(m.oof()["labels"]) for m in ensemble.models)
    save_ensemble_thresholds(
        model_dir, ensemble,
        f"tuned for the challenge score on the pooled out-of-fold predictions of the {len(ensemble.models)} "
        f"fold models ({n_records} records), starting from the mean of the folds' thresholds",
    )
    return scores
