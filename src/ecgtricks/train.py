"""Train one fold: ``python -m ecgtricks.train [experiment=...] [+trick=...] fold=K``.

:func:`run` resolves the recipe (:mod:`ecgtricks.runs.recipes`), holds the run directory under its
rules (:mod:`ecgtricks.runs.rundir`: skip a finished run of the same config, refuse one of another,
one process at a time) and fits (:mod:`ecgtricks.training.fit`). Under ``-m`` (a sweep) a failed
job writes ``error.txt`` into its directory and the others go on.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from ecgtricks.runs import config, recipes, rundir  # config also registers the schema
from ecgtricks.utils.console import hydra_entry, quiet_lightning, user_errors
from ecgtricks.utils.files import atomic_write_bytes
from ecgtricks.utils.paths import config_dir

log = logging.getLogger("ecgtricks.train")


def run(cfg: DictConfig, overrides: list[str], run_dir: Path) -> float:
    """One job; returns the fold's validation challenge score (threshold 0.5)."""
    from ecgtricks.training.fit import fit

    cfg = recipes.resolve(cfg, overrides, check=False)
    done = rundir.finished(run_dir, cfg)
    if done is not None:  # its config was checked when it ran: a finished sweep job returns at once
        rundir.say_skipped(run_dir)
        return float(done["challenge_score"])
    config.check(cfg)
    summary, skipped = rundir.run_once(run_dir, cfg, overrides, fit)
    if rundir.is_global_zero() and not skipped:
        print(
            f"fold {summary['fold']}: challenge score {summary['challenge_score']:.4f} "
            f"(threshold {summary['threshold']}; {summary['challenge_score_tuned']:.4f} tuned on the fold), "
            f"macro F1 {summary['f_measure']:.4f}, macro AUROC {summary['auroc']:.4f}, {summary['epochs']} epochs, "
            f"{summary['wall_time_s']:.1f} s -> {run_dir / 'summary.json'}"
        )
    return float(summary["challenge_score"])


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
@user_errors
def main(cfg: DictConfig) -> float:
    quiet_lightning()
    hydra_cfg = HydraConfig.get()
    overrides, run_dir = list(hydra_cfg.overrides.task), Path(hydra_cfg.runtime.output_dir)
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return run(cfg, overrides, run_dir)
    n_jobs = OmegaConf.select(hydra_cfg, "launcher.n_jobs", default=None)
    if cfg.threads is None and n_jobs:  # parallel local jobs share the cores
        import os

        import torch

        cores = os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // (cores if n_jobs < 0 else int(n_jobs))))
    try:
        return run(cfg, overrides, run_dir)
    except (rundir.RunInProgress, rundir.RunConflict) as exc:
        # Not this job's directory to write in: say so, leave no error.txt there, go on.
        status = "IN PROGRESS" if isinstance(exc, rundir.RunInProgress) else "REFUSED"
        print(f"{status}: {exc}", file=sys.stderr)
        return float("nan")
    except Exception:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(run_dir / "error.txt", traceback.format_exc().encode())
        log.error("run %s failed; see %s", run_dir, run_dir / "error.txt")
        print(f"FAILED {run_dir}: see {run_dir / 'error.txt'}", file=sys.stderr)
        return float("nan")


if __name__ == "__main__":
    hydra_entry(main)
