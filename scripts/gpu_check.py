"""The GPU check (``scripts/gpu_check.sh``): training speed of the paper's network on one device,
the loop's own cost, the speed settings, packed runs, and what a paper-scale sweep costs.

    python scripts/gpu_check.py [--device cuda|cpu] [--quick] [--out gpu-check.json]

Prints, one line each as it is measured (so a run cut short keeps what it measured):

1. the bare step (zero_grad/forward/loss/backward/step, bf16 autocast on cuda) over pre-built
   batches on the device, and the project's Lightning loop over the same batches
   (``scripts/loopbench.py``);
2. ``ecgtricks.training.fit.fit`` itself on a cache of random records (12 leads, 2,048-2,500
   samples at 250 Hz, 24 classes, 10 s windows, batch 128, 3 epochs): the default loader,
   ``data.on_device=true``, 2 and 4 packed runs (that many processes training at once on the
   one device, ``data.on_device=true``: their rates added), ``trainer.compile=true``, and
   ``data.on_device`` with ``trainer.compile`` (compiling is the slowest to start, so last) --
   records/s of the last epoch's training steps (the ``Throughput`` callback: validation left
   out, the GPU synchronised);
3. after each, the projected GPU-hours of 10 folds x 100 epochs at 43,101 and 88,253 records
   from its rates (90 % of a set trains, 10 % validates each epoch at the measured validation
   rate), and all of them together at the end;
4. each backbone's training step (``scripts/bench.py --only backbones``: published size, bf16,
   batch 128 x 10 s, records/s and peak GPU memory), a fresh process each.

No download: the records are random numbers written in the cache's own format. ``--device cpu
--quick`` runs every part with a tiny network and tiny records (the test of this script).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import loopbench  # noqa: E402 (beside this script)

SETS = {"2020 (43,101 records)": 43_101, "2021 (88,253 records)": 88_253}
FOLDS, EPOCHS = 10, 100


def sizes(device: str, quick: bool) -> dict[str, Any]:
    """Records, lengths, network and run sizes of a check on ``device``."""
    if device == "cpu" or quick:
        return {"records": 64, "min_len": 320, "max_len": 400, "batch": 8, "epochs": 2, "steps": 12, "warmup": 3,
                "workers": 0, "overrides": [*loopbench.TINY, "trainer=gpu" if device == "cuda" else "trainer=cpu",
                                            "input.window_s=1.2", "input.chunk_length=256", "input.chunk_stride=192"]}
    return {"records": 12_800, "min_len": 2_048, "max_len": 2_500, "batch": 128, "epochs": 3, "steps": 100,
            "warmup": 10, "workers": 8, "overrides": ["experiment=dsail2020", "trainer=gpu", "logger=csv",
                                                      "input.window_s=10.0"]}


def write_cache(directory: Path, n: int, min_len: int, max_len: int, fs: float = 250.0, seed: int = 0) -> Any:
    """A cache of ``n`` random 12-lead records (``min_len``..``max_len`` samples at ``fs``), each
    with one or two scored classes, in the format of :mod:`ecgtricks.data.cache`."""
    import numpy as np

    from ecgtricks.data.cache import CACHE_VERSION, ECGCache
    from ecgtricks.data.leads import STANDARD_LEADS
    from ecgtricks.scoring.labels import SCORED_CLASSES

    if (directory / "manifest.json").is_file():
        return ECGCache(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, n)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    with open(directory / "signals.f32", "wb") as out:
        for a in range(0, n, 256):
            out.write(rng.standard_normal((int(lengths[a : a + 256].sum()), 12), dtype=np.float32).tobytes())
    np.save(directory / "offsets.npy", offsets)
    records = [{"name": f"R{i:06d}", "source": "random", "fs_original": fs, "fs": fs, "age": None, "sex": None,
                "labels": list(rng.choice(SCORED_CLASSES, rng.integers(1, 3), replace=False))} for i in range(n)]
    (directory / "records.json").write_text(json.dumps(records))
    (directory / "skipped.json").write_text("[]")
    (directory / "manifest.json").write_text(json.dumps({
        "version": CACHE_VERSION, "key": f"random-{n}", "name": "random", "pipeline": [],
        "leads": list(STANDARD_LEADS), "fs": fs, "shape": [int(offsets[-1]), 12], "n_records": n, "n_skipped": 0,
        "build_seconds": 0.0}))
    return ECGCache(directory)


def run_fit(overrides: list[str], cache: Any, run_dir: Path) -> dict[str, Any]:
    """``fit`` on ``cache``: training records/s of the last epoch, validation records/s."""
    from ecgtricks.runs import rundir
    from ecgtricks.training.fit import fit

    cfg = rundir.bind(loopbench.compose(overrides), run_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = fit(cfg, overrides, cache=cache)
    return {"records_per_s": summary["train_records_per_s"], "val_records_per_s": summary["n_val"] / summary["val_seconds"],
            "wall_s": summary["wall_time_s"], "challenge_score": summary["challenge_score"]}


def projected_hours(train_rate: float, val_rate: float, n: int) -> float:
    """GPU-hours of FOLDS x EPOCHS epochs of ``n`` records (90 % train, 10 % validate per epoch)."""
    return FOLDS * EPOCHS * (0.9 * n / train_rate + 0.1 * n / val_rate) / 3600


def say(line: str) -> None:
    print(line, flush=True)


def worker(args: argparse.Namespace) -> None:
    """One of the packed runs: wait for the others, then fit; one JSON line on stdout."""
    from ecgtricks.data.cache import ECGCache

    cache = ECGCache(args.cache)
    ready = Path(args.barrier) / f"ready-{args.rank}"
    ready.touch()
    while len(list(Path(args.barrier).glob("ready-*"))) < args.packed:
        time.sleep(0.05)
    started = time.time()
    result = run_fit(json.loads(args.overrides), cache, Path(args.run_dir))
    print("RESULT " + json.dumps({**result, "started": started, "ended": time.time()}), flush=True)


def packed(k: int, overrides: list[str], cache_dir: Path, tmp: Path, budget_s: float) -> dict[str, Any]:
    """``k`` processes fitting at once on the one device; the sum of their last-epoch rates."""
    barrier = tmp / f"barrier{k}"
    barrier.mkdir()
    procs = [subprocess.Popen(
        [sys.executable, __file__, "--worker", "--rank", str(r), "--packed", str(k), "--barrier", str(barrier),
         "--cache", str(cache_dir), "--overrides", json.dumps(overrides), "--run-dir", str(tmp / f"packed{k}-{r}" / "fold0")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        for r in range(k)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=budget_s)  # past the budget: an error, the rest is printed
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode or line is None:
            raise RuntimeError(f"packed run failed ({proc.returncode}):\n{err[-2000:]}")
        results.append(json.loads(line[len("RESULT "):]))
    return {"records_per_s": sum(r["records_per_s"] for r in results),
            "val_records_per_s": sum(r["val_records_per_s"] for r in results),
            "each": [round(r["records_per_s"]) for r in results],
            "wall_s": max(r["ended"] for r in results) - min(r["started"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--quick", action="store_true", help="tiny network and records (any device)")
    parser.add_argument("--budget", type=float, default=450.0, help="seconds; later parts are skipped past it")
    parser.add_argument("--out", default=None, help="write the figures to this JSON file")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rank", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--packed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--cache", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--overrides", default="[]", help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)  # Lightning's and the fit's INFO lines: the figures only
    if args.worker:
        worker(args)
        return

    import torch

    started = time.perf_counter()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --device cpu --quick")
    size = sizes(args.device, args.quick)
    name = torch.cuda.get_device_name() if args.device == "cuda" else "CPU"
    say(f"device: {name}; torch {torch.__version__}; {os.cpu_count()} CPUs; quick={args.quick}")
    results: dict[str, Any] = {"device": name, "torch": torch.__version__, "sizes": {k: v for k, v in size.items()}}
    tmp = Path(tempfile.mkdtemp(prefix="ecgtricks-gpu-check-"))
    cache_dir = tmp / "caches" / "random"
    cache = write_cache(cache_dir, size["records"], size["min_len"], size["max_len"])
    window = round(float(loopbench.compose(size["overrides"]).input.window_s) * cache.fs)
    say(f"data: {len(cache)} random records, {size['min_len']}-{size['max_len']} samples at {cache.fs:g} Hz, "
        f"window {window}, batch {size['batch']} ({time.perf_counter() - started:.0f} s)")
    base = [*size["overrides"], f"batch_size={size['batch']}", f"eval_batch_size={size['batch']}",
            f"trainer.max_epochs={size['epochs']}", f"num_workers={size['workers']}",
            "trainer.enable_progress_bar=false", "logger=csv"]

    def left() -> float:
        return args.budget - (time.perf_counter() - started)

    # 1. the loop's own cost: pre-built batches on the device
    cfg = loopbench.compose(base)
    batches = loopbench.make_batches(size["warmup"] + size["steps"], size["batch"], window, args.device)
    bare = loopbench.bare_loop(cfg, batches, size["warmup"], args.device)["records_per_s"]
    say(f"bare step (pre-built batches){'':<24} {bare:>10,.0f} records/s")
    lightning = loopbench.lightning_loop(cfg, batches, size["warmup"], args.device, tmp / "prebuilt" / "fold0")
    say(f"Lightning loop (same batches){'':<24} {lightning['records_per_s']:>10,.0f} records/s  "
        f"({lightning['records_per_s'] / bare:.2f} x bare)")
    results["bare_records_per_s"], results["lightning_prebuilt_records_per_s"] = bare, lightning["records_per_s"]
    del batches

    # 2. fit on the cache with the speed settings, and packed runs; each with its projection at
    # once (a run cut short keeps them), the slowest to start (compile) last.
    rates: dict[str, dict[str, Any]] = {}
    results["fit"], results["projected_gpu_hours"] = rates, {}
    plan: list[tuple[str, list[str], int]] = [
        ("fit, default loader", [], 1), ("fit, data.on_device", ["data.on_device=true"], 1),
        ("2 packed runs (on_device), aggregate", ["data.on_device=true"], 2),
        ("4 packed runs (on_device), aggregate", ["data.on_device=true"], 4),
        ("fit, trainer.compile", ["trainer.compile=true"], 1),
        ("fit, on_device + compile", ["data.on_device=true", "trainer.compile=true"], 1)]
    for label, extra, k in plan:
        if left() < (60 if k == 1 else 90):
            say(f"{label}: skipped ({left():.0f} s of the budget left)")
            continue
        run_started = time.perf_counter()
        if k == 1:
            rates[label] = run_fit([*base, *extra], cache, tmp / label.replace(" ", "_").replace(",", "") / "fold0")
        else:
            rates[label] = packed(k, [*base, *extra], cache_dir, tmp, max(60.0, left()))
        rate = rates[label]
        each = f"each {rate['each']}; " if "each" in rate else ""
        say(f"{label:<52} {rate['records_per_s']:>10,.0f} records/s  ({each}validation "
            f"{rate['val_records_per_s']:,.0f} records/s; {time.perf_counter() - run_started:.0f} s with start-up)")
        hours = {s: projected_hours(rate["records_per_s"], rate["val_records_per_s"], n) for s, n in SETS.items()}
        results["projected_gpu_hours"][label] = hours
        say(f"  -> {FOLDS} folds x {EPOCHS} epochs: " + ", ".join(f"{s}: {h:,.1f} GPU-hours" for s, h in hours.items()))

    # 3. each backbone's training step at its published size, bf16, batch 128 x 10 s (--quick:
    # the first backbone, a tiny batch); a fresh process each (scripts/bench.py)
    import bench

    from ecgtricks.models import available_models

    names = available_models()[:1] if args.quick else available_models()
    if left() < 30 * len(names):
        say(f"backbones: skipped ({left():.0f} s of the budget left)")
    else:
        results["backbones_records_per_s"] = bench.bench_backbones(
            args.device, args.quick, names, samples=1000 if args.quick else 5000, batch=2 if args.quick else None)

    # 4. the projections together
    say(f"projected GPU-hours, {FOLDS} folds x {EPOCHS} epochs (90 % trains, 10 % validates per epoch):")
    for label, hours in results["projected_gpu_hours"].items():
        say(f"  {label:<50} " + "   ".join(f"{s}: {h:,.1f} h" for s, h in hours.items()))
    results["wall_s"] = time.perf_counter() - started
    say(f"{results['wall_s']:.0f} s in all")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
