"""Build (or reuse) the preprocessed cache: ``python -m ecgtricks.prepare data.path=DIR``."""

from __future__ import annotations

import time

import hydra
from omegaconf import DictConfig

from ecgtricks.runs import config  # noqa: F401 (registers the schema before Hydra composes)
from ecgtricks.utils.console import hydra_entry, user_errors
from ecgtricks.utils.paths import config_dir


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
@user_errors
def main(cfg: DictConfig) -> None:
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


if __name__ == "__main__":
    hydra_entry(main)
