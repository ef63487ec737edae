"""Build (or reuse) the preprocessed cache: ``python -m ecgtricks.prepare data.path=DIR``.

Takes the same overrides as ``ecgtricks.train`` and composes the same config, once, with Hydra's
compose API: ``@hydra.main`` composes every config twice (the first time to learn the run mode)
and sets up a run directory that building a cache never uses — on the 2021 corpus, a third of
a second of the 2 s that finding a built cache may take (BENCHMARKS.md).
"""

from __future__ import annotations

import sys
import time

from omegaconf import DictConfig

from ecgtricks.runs import config  # noqa: F401 (registers the schema before Hydra composes)
from ecgtricks.utils.console import hydra_entry, setup_logging, user_errors
from ecgtricks.utils.paths import config_dir

USAGE = "usage: python -m ecgtricks.prepare [KEY=VALUE ...]  (the overrides of ecgtricks.train)"


def compose(overrides: list[str]) -> DictConfig:
    """The training config for these command-line overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3", job_name="prepare"):
        return hydra_compose(config_name="train", overrides=overrides)


@user_errors
def prepare(cfg: DictConfig) -> None:
    from ecgtricks.data.cache import prepare_cache

    started = time.perf_counter()
    cache = prepare_cache(cfg.data, cfg.preprocess)
    seconds = time.perf_counter() - started
    n = len(cache)
    print(
        f"cache {cache.directory}: {n} records, {cache.manifest['n_skipped']} skipped, "
        f"{'built' if cache.built else 'reused'} in {seconds:.2f} s ({n / seconds:.1f} records/s)"
    )
    if cache.manifest["n_skipped"]:
        print(f"skipped records are listed in {cache.directory / 'skipped.json'}")


def main(argv: list[str] | None = None) -> None:
    overrides = list(sys.argv[1:] if argv is None else argv)
    if overrides in (["-h"], ["--help"]):
        print(USAGE)
        return
    flags = [arg for arg in overrides if arg.startswith("-")]
    if flags:  # Hydra's flags (-m, --cfg, ...): one cache, one config
        print(f"error: {' '.join(flags)}: not an option here; {USAGE}", file=sys.stderr)
        raise SystemExit(2)
    setup_logging()
    prepare(compose(overrides))


if __name__ == "__main__":
    hydra_entry(main)
