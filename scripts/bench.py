"""`make bench`: measured figures of the data pipeline and post-training, next to their targets.

Prints one line per figure and writes them to bench-results.json. Everything runs on CPU in one
process (plus the cache build's worker processes), on the built-in synthetic dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def report(results: dict, key: str, value: float, unit: str, target: str = "") -> None:
    results[key] = {"value": value, "unit": unit, "target": target}
    print(f"{key:<44} {value:>12.1f} {unit:<12} {('target ' + target) if target else ''}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--out", default="bench-results.json")
    args = parser.parse_args()

    from ecgtricks.data.cache import build_cache
    from ecgtricks.data.preprocess import build_pipeline
    from ecgtricks.data.record import find_records
    from ecgtricks.data.synthetic import generate_dataset
    from ecgtricks.labels import encode_labels
    from ecgtricks.metrics import challenge_score
    from ecgtricks.postprocess import tune_thresholds

    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "processor": platform.processor() or platform.machine()}}
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        _, seconds = timed(generate_dataset, tmp / "synthetic", n_records=args.records, seed=0)
        report(results, f"generator ({args.records} records)", args.records / seconds, "records/s",
               f">= {1000 / 60:.1f} (1,000 in 60 s)")
        records = find_records(tmp / "synthetic")
        for label, cfg in {
            "resample 500 Hz": {"resample": {"fs": 500}},
            "resample + notch 50/60 + standardise": {
                "resample": {"fs": 500}, "notch": {"freqs": [50, 60]}, "scale": {"method": "standard"}},
        }.items():
            cache, seconds = timed(build_cache, records, build_pipeline(cfg), tmp / "cache", progress=False)
            report(results, f"cache build, {label}", len(cache) / seconds, "records/s")
        _, seconds = timed(build_cache, records, build_pipeline(cfg), tmp / "cache", progress=False)
        report(results, "cache reuse (key check)", len(records) / seconds, "records/s")
        labels = encode_labels(cache.labels)
        print(f"  dataset: {len(cache)} records, {cache.lengths.sum() / cache.fs / 3600:.2f} h of signal, "
              f"positives per class {labels.sum(0).tolist()}")

    rng = np.random.default_rng(0)
    n = 40_000
    y = rng.random((n, 24)) < 0.08
    p = np.clip(y * 0.6 + rng.random((n, 24)) * 0.5, 0, 1)
    _, seconds = timed(challenge_score, y, p >= 0.5)
    report(results, "challenge_score, 40,000 x 24", seconds * 1000, "ms")
    _, seconds = timed(tune_thresholds, y, p)
    report(results, "tune_thresholds (grid), 40,000 x 24", seconds, "s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report(results, "peak RSS, main process", peak, "MiB")
    report(results, "peak RSS, largest worker", children, "MiB")
    Path(args.out).write_text(json.dumps(results, indent=1))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
