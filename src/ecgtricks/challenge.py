"""Challenge-compatible entry points, as the 2020 challenge's train_model.py and driver.py.

    python -m ecgtricks.challenge train DATA_DIR MODEL_DIR [overrides ...]
    python -m ecgtricks.challenge run MODEL_DIR DATA_DIR OUTPUT_DIR

``train`` trains the configured recipe (``experiment=dsail2020`` unless an override names
another) on every fold of DATA_DIR, one run directory per fold in MODEL_DIR (``fold<k>/``, its
checkpoints removed once the fold is finished), then tunes the ensemble's thresholds on the
pooled out-of-fold predictions of all folds (starting from the folds' mean) and writes them to
``MODEL_DIR/ensemble.json``, which says so. Re-running it finishes only missing folds.
``run`` writes one 2020-format output file per record with the fold ensemble of MODEL_DIR and
those thresholds.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Sequence
from pathlib import Path

from ecgtricks.console import setup_logging, user_errors
from ecgtricks.errors import ConfigError
from ecgtricks.paths import config_dir


def train_all_folds(data_dir: Path, model_dir: Path, overrides: Sequence[str]) -> list[float]:
    """Train every fold; returns the folds' validation challenge scores (threshold 0.5)."""
    from hydra import compose, initialize_config_dir

    from ecgtricks import config, recipes, rundir  # noqa: F401 (config registers the schema)
    from ecgtricks.training.fit import fit

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
    from ecgtricks.modeldir import load_ensemble, save_ensemble_thresholds

    ensemble = load_ensemble(model_dir, thresholds="retune", fold_ensemble=True)
    n_records = sum(len(m.oof()["labels"]) for m in ensemble.models)
    save_ensemble_thresholds(
        model_dir, ensemble,
        f"tuned for the challenge score on the pooled out-of-fold predictions of the {len(ensemble.models)} "
        f"fold models ({n_records} records), starting from the mean of the folds' thresholds",
    )
    return scores


@user_errors
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecgtricks.challenge", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train every fold (as train_model.py)")
    train.add_argument("data_dir", type=Path)
    train.add_argument("model_dir", type=Path)
    train.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. experiment=baseline trainer=gpu")
    run = commands.add_parser("run", help="one output file per record (as driver.py)")
    run.add_argument("model_dir", type=Path)
    run.add_argument("data_dir", type=Path)
    run.add_argument("output_dir", type=Path)
    args = parser.parse_args(argv)
    setup_logging()
    if args.command == "train":
        scores = train_all_folds(args.data_dir, args.model_dir, args.overrides)
        print(f"{len(scores)} folds -> {args.model_dir}; validation challenge scores "
              + ", ".join(f"{s:.4f}" for s in scores))
        return 0
    from ecgtricks.modeldir import predict_directory

    result = predict_directory(args.model_dir, args.data_dir, args.output_dir, thresholds="auto",
                               fold_ensemble=True)
    print(f"{result['written']} outputs from {result['models']} fold models -> {args.output_dir}; "
          f"{len(result['skipped'])} records skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
