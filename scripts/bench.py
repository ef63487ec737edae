"""`make bench`: measured figures of the data pipeline, training step and post-training.

Prints one line per figure next to its target and writes them all to bench-results.json.
Sections run in this process except the memory figures, each measured in a fresh subprocess.
Reference implementations "in the paper's style" (per record, per lead loops) are timed on the
same records in the same process, so the ratios do not depend on the machine.

    python scripts/bench.py [--records 1000] [--quick] [--device cuda]
    python scripts/bench.py --only tricks           # each augmentation, ema and test-time windows as ratios
    python scripts/bench.py --only loop             # Lightning loop against a bare loop, same batches
    python scripts/bench.py --only fullscale --twin-scale 1 --twin-dir /data/twin   # the 43,101 records
    python scripts/bench.py --only fullscale --edition 2021 --twin-scale 1 --twin-dir /data/twin2021  # 88,253
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "data" / "challenge-samples"
RESULTS: dict[str, Any] = {}


def timed(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - started


def compose_config(overrides: list[str]) -> Any:
    """The ``train`` config for ``overrides``, as ``python -m ecgtricks.train`` composes it."""
    from hydra import compose, initialize_config_dir

    from ecgtricks.runs import config  # noqa: F401 (registers the schema)
    from ecgtricks.utils.paths import config_dir

    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
        return compose("train", overrides=overrides)


def report(key: str, value: float, unit: str, target: str = "", note: str = "") -> None:
    RESULTS[key] = {"value": value, "unit": unit, "target": target, "note": note}
    shown = f"{value:>12.3f}" if abs(value) < 100 else f"{value:>12.0f}"
    extra = "  ".join(x for x in (f"target {target}" if target else "", note) if x)
    print(f"{key:<58} {shown} {unit:<10} {extra}", flush=True)


# ---------------------------------------------------------------------------- data pipeline


def replicate_samples(dest: Path, n_records: int) -> list[Path]:
    """~n_records challenge records: the shared samples copied under new names (record line and
    signal file names rewritten), so every copy is a distinct record as in a real dataset."""
    headers = sorted(SAMPLES.rglob("*.hea"))
    out = []
    for rep in range(-(-n_records // len(headers))):
        for hea in headers:
            if len(out) == n_records:
                return out
            name = f"r{rep:02d}_{hea.stem}"
            lines = hea.read_text().splitlines()
            first = lines[0].split()
            first[0] = name
            n_sig = int(first[1])
            lines[0] = " ".join(first)
            for i in range(1, 1 + n_sig):
                fields = lines[i].split()
                fields[0] = f"{name}.mat"
                lines[i] = " ".join(fields)
            (dest / f"{name}.hea").write_text("\n".join(lines) + "\n")
            os.symlink(hea.with_suffix(".mat").resolve(), dest / f"{name}.mat")
            out.append(dest / name)
    return out


def paper_style_read(path: Path) -> tuple[np.ndarray, float]:
    """Reading as the challenge's example code (and the paper's loader) did: ``loadmat`` of the
    signal and the header's text split by hand, gains and baselines per lead."""
    from scipy.io import loadmat

    lines = path.with_suffix(".hea").read_text().splitlines()
    n_leads, fs = int(lines[0].split()[1]), float(lines[0].split()[2])
    gains, baselines = [], []
    for line in lines[1 : 1 + n_leads]:
        gain = line.split()[2].split("/")[0]
        gains.append(float(gain.split("(")[0]))
        baselines.append(float(gain.split("(")[1].rstrip(")")) if "(" in gain else 0.0)
    val = loadmat(str(path.with_suffix(".mat")))["val"].astype(np.float64)
    return (val - np.array(baselines)[:, None]) / np.array(gains)[:, None], fs


def paper_style_preprocess(path: Path, fs_target: int = 500) -> np.ndarray:
    """The reference: what a per-epoch loader of the paper's kind does for one record."""
    from scipy.signal import filtfilt, iirnotch, resample
    from sklearn.preprocessing import StandardScaler

    x, fs = paper_style_read(path)
    if fs != fs_target:  # FFT resampling of the whole record
        x = resample(x, int(round(x.shape[1] * fs_target / fs)), axis=1)
    for freq in (50.0, 60.0):
        b, a = iirnotch(freq, freq, fs_target)
        x = np.stack([filtfilt(b, a, lead) for lead in x])  # one lead at a time
    return np.stack([StandardScaler().fit_transform(lead[:, None])[:, 0] for lead in x]).astype(np.float32)


RECIPE = {"resample": {"fs": 500}, "notch": {"freqs": [50, 60]}, "scale": {"method": "standard"}}


def bench_data(tmp: Path, n_records: int, quick: bool) -> None:
    from ecgtricks.data.cache import build_cache
    from ecgtricks.data.preprocess import build_pipeline
    from ecgtricks.data.record import find_records
    from ecgtricks.synth.builtin import generate_dataset

    _, seconds = timed(generate_dataset, tmp / "synthetic", n_records=n_records, seed=0)
    report(f"generator, {n_records} records", n_records / seconds, "records/s", f">= {1000 / 60:.1f}")

    if SAMPLES.is_dir():
        (tmp / "real").mkdir()
        records = replicate_samples(tmp / "real", n_records)
        what = f"{len(records)} copies of the shared challenge samples"
    else:
        records = find_records(tmp / "synthetic")
        what = f"{len(records)} synthetic records (shared samples absent)"
    print(f"  cache build on {what}")
    # One copy of each distinct record (the mix of sources, rates and lengths of the whole set).
    distinct = len(list(SAMPLES.rglob("*.hea"))) if SAMPLES.is_dir() else len(records)
    sub = records[: min(len(records), 40 if quick else distinct)]
    _, seconds = timed(lambda: [paper_style_preprocess(p) for p in sub])
    reference = len(sub) / seconds
    report("reference: per-record loop, read+resample+notch+scale", reference, "records/s",
           note=f"{len(sub)} records, 1 process")
    for workers in (1, 2):
        cache, seconds = timed(build_cache, records, build_pipeline(RECIPE), tmp / f"cache{workers}",
                               workers=workers, progress=False)
        rate = len(cache) / seconds
        report(f"cache build, {workers} process(es), read+resample+notch+scale", rate, "records/s",
               ">= 10x reference", f"{rate / reference:.1f}x reference")
    _, seconds = timed(build_cache, records, build_pipeline(RECIPE), tmp / "cache2", workers=2, progress=False)
    report("cache reuse (key check only)", len(records) / seconds, "records/s")
    hours = cache.lengths.sum() / cache.fs / 3600
    print(f"  cache: {len(cache)} records, {hours:.2f} h of signal, {cache.signals.nbytes / 2**20:.0f} MiB")

    # The training loader over a synthetic 500 Hz cache: 10 s crops, batch 128, one process.
    from torch.utils.data import DataLoader

    from ecgtricks.data.datamodule import CropBatches, EpochBatches
    from ecgtricks.scoring.labels import encode_labels

    syn = build_cache(find_records(tmp / "synthetic"), build_pipeline({"resample": {"fs": 500}}),
                      tmp / "cache-syn", progress=False)
    targets = encode_labels(syn.labels).astype(np.float32)
    ds = CropBatches(syn, np.arange(len(syn)), targets, 5000)
    sampler = EpochBatches(len(ds), 128, seed=0, drop_last=False)
    loader = DataLoader(ds, sampler=sampler, batch_size=None)
    seen, started = 0, time.perf_counter()
    for epoch in range(1 if quick else 3):
        sampler.set_epoch(epoch)
        for x, _, _ in loader:
            seen += len(x)
    rate = seen / (time.perf_counter() - started)
    report("DataLoader epoch, 10 s crops, batch 128, main process", rate, "records/s", ">= 5000 per worker")


# ---------------------------------------------------------------------------- training step


def bench_training(device: str, quick: bool) -> None:
    import torch

    from ecgtricks.models import forward_flops
    from ecgtricks.scoring.labels import SCORED_CLASSES
    from ecgtricks.training.module import ECGClassifier
    from ecgtricks.utils.conf import as_dict

    warnings.filterwarnings("ignore")
    cfg = compose_config(["experiment=dsail2020"])

    def section(key: str) -> dict:
        return as_dict(cfg[key])

    def build() -> ECGClassifier:
        torch.manual_seed(0)
        return ECGClassifier(section("model"), section("optim"), len(SCORED_CLASSES), 12,
                             loss=section("loss"), augment=section("augment"), input=section("input"),
                             class_counts=[100] * len(SCORED_CLASSES)).to(device)

    module = build()
    flops = forward_flops(module.net.cpu(), 12)  # multiplies and adds counted apart (2 per MAC)
    report("dsail2020 forward, one 2,048-sample chunk", flops / 1e9, "GFLOP", note="issue quotes 0.686 for the paper's code")
    module.to(device)

    def step_time(mod: ECGClassifier, batch: int, steps: int, train_fn: Callable | None = None) -> float:
        opt = torch.optim.Adam(mod.parameters(), lr=1e-3)
        x = torch.randn(batch, 12, 5000, device=device)
        y = (torch.rand(batch, len(SCORED_CLASSES), device=device) < 0.1).float()
        lengths = torch.full((batch,), 5000, device=device)
        mod.train()
        features = train_fn or mod.train_features
        times = []
        for i in range(steps + 2):  # two warm-up steps
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
                logits = mod.net.head(mod.net.dropout(features(x, lengths)))
                loss = mod.criterion(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if device == "cuda":
                torch.cuda.synchronize()
            if i >= 2:
                times.append(time.perf_counter() - started)
        return statistics.median(times)

    if device == "cpu":
        torch.set_num_threads(2)
        seconds = step_time(module, 32, 2 if quick else 5)
        report("dsail2020 train step, CPU, batch 32 x 10 s, 2 threads", seconds, "s/step",
               "<= 3.0 (paper's code)", f"{32 / seconds:.1f} records/s")
        if not quick:
            compiled = torch.compile(module.train_features)
            _, warmup = timed(step_time, module, 32, 1, compiled)
            seconds = step_time(module, 32, 5, compiled)
            report("  same, torch.compile'd features", seconds, "s/step", note=f"compile+warm-up {warmup:.0f} s")
    else:
        for batch in (128,):
            seconds = step_time(module, batch, 20)
            report(f"dsail2020 train step, {device}, bf16, batch {batch} x 10 s", batch / seconds,
                   "records/s", ">= 5000")


BACKBONE_STEP = """
import statistics, time, warnings
import torch
warnings.filterwarnings("ignore")
torch.set_num_threads({threads})
torch.manual_seed(0)
from ecgtricks.models import build_model
from omegaconf import OmegaConf
from ecgtricks.utils.paths import config_dir
net = build_model(OmegaConf.load(config_dir() / "model" / "{name}.yaml"), 12, 24).to("{device}").train()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
x = torch.randn({batch}, 12, {samples}, device="{device}")
y = (torch.rand({batch}, 24, device="{device}") < 0.1).float()
times = []
for i in range({steps} + 2):  # two warm-up steps
    if "{device}" == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.autocast("{device}", dtype=torch.bfloat16, enabled="{device}" == "cuda"):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x).float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    if "{device}" == "cuda":
        torch.cuda.synchronize()
    if i >= 2:
        times.append(time.perf_counter() - started)
print("STEP", statistics.median(times), sum(p.numel() for p in net.parameters()),
      torch.cuda.max_memory_allocated() / 2**20 if "{device}" == "cuda" else 0)
"""


def bench_backbones(device: str, quick: bool, names: list[str] | None = None, samples: int = 5000,
                    batch: int | None = None) -> dict[str, float]:
    """Each backbone's training step at its default size (configs/model/NAME.yaml; 12 leads, 24
    classes, batch 32 x 10 s at 500 Hz on the CPU with 2 threads, 128 in bf16 on a GPU), each in
    a fresh process so that its peak memory is its own."""
    from ecgtricks.models import available_models

    threads = 2 if device == "cpu" else 16
    batch = batch or (32 if device == "cpu" else 128)
    rates = {}
    for name in names or available_models():
        code = BACKBONE_STEP.format(name=name, device=device, batch=batch, threads=threads, steps=1 if quick else 5,
                                    samples=samples)
        # peak RSS from VmHWM of the process itself (see peak_rss_of)
        code += "print('HWM', next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])\n"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        lines = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines() if line[:4] in ("STEP", "HWM ")}
        seconds, params, gpu_mib = (float(v) for v in lines["STEP"])
        peak = float(lines["HWM"][0]) / 1024
        where = f"CPU, {threads} threads, batch {batch}" if device == "cpu" else f"{device}, bf16, batch {batch}"
        report(f"backbone {name} train step ({where} x {samples} samples)", batch / seconds, "records/s",
               note=f"{seconds:.2f} s/step, {params / 1e6:.2f} M params, peak RSS {peak:.0f} MiB"
               + (f", peak GPU {gpu_mib:.0f} MiB" if device != "cpu" else ""))
        rates[name] = batch / seconds
    return rates



TRICK_STEPS = ["baseline_wander", "noise", "amplitude_scale", "time_stretch", "time_mask", "cutmix", "ema"]


def bench_tricks(device: str, quick: bool, batch: int = 32, samples: int = 5000) -> dict[str, float]:
    """The baseline's training step (augmentations, mixing, loss, backward, Adam) with each
    augmentation trick and with ``ema``, as a ratio to the plain step, all measured in this run
    round-robin (drift falls on every variant alike); and prediction over sliding windows
    (``sliding_window_tta``, 2.5 s every 1.25 s) against whole records."""
    import torch
    from torch.optim.swa_utils import AveragedModel

    from ecgtricks.models.windows import sliding_window_logits
    from ecgtricks.training.averaging import EMA
    from ecgtricks.training.fit import build_module

    warnings.filterwarnings("ignore")
    if device == "cpu":
        torch.set_num_threads(2)
    fs = samples / 10.0
    modules = {}
    for name in ["plain", *TRICK_STEPS]:
        cfg = compose_config([] if name in ("plain", "ema") else [f"+trick={name}"])
        torch.manual_seed(0)
        modules[name] = build_module(cfg, [100] * 24, fs=fs).to(device).train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 12, samples, generator=g).to(device)
    y = (torch.rand(batch, 24, generator=g) < 0.1).float().to(device)
    lengths = torch.full((batch,), samples, device=device)
    optimisers = {n: torch.optim.Adam(m.parameters(), lr=1e-3) for n, m in modules.items()}
    ema = EMA(decay=0.999)
    averaged = AveragedModel(modules["ema"], device=device, use_buffers=True, multi_avg_fn=ema._lerp)

    def step(name: str) -> float:
        module, opt = modules[name], optimisers[name]
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        loss = module.training_loss(x, y, lengths)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if name == "ema":
            averaged.update_parameters(module)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - started

    rounds = 2 if quick else 8
    times: dict[str, list[float]] = {n: [] for n in modules}
    for r in range(rounds + 1):  # round 0: warm-up
        for name in modules:
            seconds = step(name)
            if r:
                times[name].append(seconds)
    plain = statistics.median(times["plain"])
    report(f"baseline train step ({device}, batch {batch} x {samples} samples)", plain, "s/step")
    ratios = {}
    for name in TRICK_STEPS:
        ratios[name] = statistics.median(times[name]) / plain
        target = "<= 1.05" if name == "ema" else "<= 1.10"
        report(f"  with {name}", ratios[name], "x plain step", target)
    net = modules["plain"].net.eval()
    whole_x, whole_lengths = x[:16], lengths[:16]
    window, stride = int(2.5 * fs), int(1.25 * fs)
    with torch.no_grad():
        def predict(windows: bool) -> float:
            started = time.perf_counter()
            if windows:
                sliding_window_logits(net, whole_x, whole_lengths, window, stride, "max")
            else:
                net(whole_x, whole_lengths)
            if device == "cuda":
                torch.cuda.synchronize()
            return time.perf_counter() - started

        pairs = [(predict(False), predict(True)) for _ in range(rounds + 1)][1:]
    whole = statistics.median(p[0] for p in pairs)
    ratios["sliding_window_tta"] = statistics.median(p[1] for p in pairs) / whole
    report("  prediction with sliding_window_tta (16 records x 10 s)", ratios["sliding_window_tta"], "x whole records",
           note=f"whole records {whole * 1000:.0f} ms; 2.5 s windows every 1.25 s score ~2x the samples")
    return ratios


# ---------------------------------------------------------------------------- training loop


def bench_loop(tmp: Path, device: str, quick: bool) -> None:
    """The project's Lightning loop against a bare PyTorch loop over the same pre-built batches
    (scripts/loopbench.py): a tiny network, so the per-step cost of the loop itself shows."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import loopbench

    warnings.filterwarnings("ignore")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core: steadier on a shared machine, and the loop's host cost is serial
    steps, warmup, batch, width = (40, 5, 16, 256) if quick else (200, 20, 16, 256)
    overrides = [*loopbench.TINY, f"input.chunk_length={width}", f"input.chunk_stride={width * 3 // 4}"]
    result = loopbench.compare(overrides, steps=steps, warmup=warmup, batch=batch, width=width,
                               device=device, repeats=1 if quick else 5, tmp=tmp / "loop")
    torch.set_num_threads(threads)
    what = (f"{device}, tiny dsail2020, batch {batch} x {width}, {steps} steps, "
            f"{'median step' if device == 'cpu' else 'whole window'}")
    load = os.getloadavg()[0]
    runs = {k: [round(v) for v in vs] for k, vs in result["runs"].items()}
    report("loop_bare_records_per_s", result["bare"], "records/s", note=f"{what}; median of {runs['bare']}")
    report("loop_lightning_records_per_s", result["lightning"], "records/s",
           note=f"median of {runs['lightning']}; load {load:.2f}")
    report("loop_lightning_over_bare", result["ratio"], "ratio", ">= 0.9", "median of the back-to-back pairs' ratios")


# ---------------------------------------------------------------------------- post-training


def bench_metrics() -> None:
    from ecgtricks.scoring.metrics import challenge_score
    from ecgtricks.scoring.postprocess import tune_thresholds

    rng = np.random.default_rng(0)
    for n in (4_300, 43_000):
        y = rng.random((n, 24)) < 0.08
        p = np.clip(y * 0.6 + rng.random((n, 24)) * 0.5, 0, 1)
        challenge_score(y, p >= 0.5)
        runs = [timed(challenge_score, y, p >= 0.5)[1] for _ in range(20)]
        report(f"challenge_score, {n:,} x 24", statistics.median(runs) * 1000, "ms",
               "<= 5" if n == 4_300 else "", "paper's code: 260 ms at 4,300" if n == 4_300 else "")
        _, seconds = timed(tune_thresholds, y, p)
        report(f"tune_thresholds (grid of 99), {n:,} x 24", seconds, "s",
               "<= 1" if n == 4_300 else "", "paper's code: ~10 min at 4,300" if n == 4_300 else "")


# ---------------------------------------------------------------------------- scaling


def bench_scaling(tmp: Path, quick: bool) -> None:
    """How cache build and a training epoch grow with records (the demo's net, 2 threads)."""
    import torch

    from ecgtricks.data.cache import build_cache
    from ecgtricks.data.preprocess import build_pipeline
    from ecgtricks.data.record import find_records
    from ecgtricks.runs import rundir
    from ecgtricks.synth.builtin import generate_dataset
    from ecgtricks.training.fit import fit

    sizes = (300, 600) if quick else (300, 600, 1200)
    generate_dataset(tmp / "scaling", n_records=max(sizes), seed=1)
    records = find_records(tmp / "scaling")
    for n in sizes:
        cache, seconds = timed(build_cache, records[:n], build_pipeline(RECIPE), tmp / f"scale-cache{n}",
                               workers=2, progress=False)
        report(f"scaling: cache build, {n} records", seconds, "s", note=f"{n / seconds:.0f} records/s")
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    for n in sizes[-2:]:
        overrides = ["experiment=demo", f"data.n_records={n}", "trainer.max_epochs=2",
                     "trainer.enable_progress_bar=false", f"data.cache_dir={tmp / 'scale-root'}"]
        cfg = rundir.bind(compose_config(overrides), tmp / f"scale-run{n}" / "fold0")
        summary, seconds = timed(fit, cfg, overrides)
        report(f"scaling: demo run, {n} records, 2 epochs (incl. data, eval, tuning)", seconds, "s",
               note=f"{summary['n_train'] * 2 / seconds:.0f} training records/s overall")


# ---------------------------------------------------------------------------- memory


def peak_rss_of(code: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Peak RSS (MiB) of a fresh Python process running ``code``, and of its largest worker.

    The process's own peak is VmHWM of /proc (ru_maxrss would carry over the peak of the bench
    process it was forked from across exec); workers' is RUSAGE_CHILDREN.
    """
    probe = (
        "import resource, runpy, sys\n"
        f"exec({code!r})\n"
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "print(int(hwm.split()[1]) / 1024, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    own, workers = out.stdout.strip().splitlines()[-1].split()
    return float(own), float(workers)


def bench_memory(tmp: Path, n_records: int) -> None:
    records_dir = tmp / "synthetic"
    build = (
        "from ecgtricks.data.cache import build_cache; from ecgtricks.data.preprocess import build_pipeline\n"
        "from ecgtricks.data.record import find_records\n"
        f"build_cache(find_records({str(records_dir)!r}), build_pipeline({RECIPE!r}), {str(tmp / 'cache-mem')!r},"
        " workers=2, progress=False)\n"
    )
    own, worker = peak_rss_of(build)
    report(f"peak RSS, cache build of {n_records} records, main process", own, "MiB")
    report(f"peak RSS, cache build of {n_records} records, largest worker", worker, "MiB")
    train = (
        "import sys; sys.argv = ['train', 'experiment=demo', 'trainer.max_epochs=1', 'trainer.enable_progress_bar=false',"
        f" 'output_root={tmp / 'runs'}', 'hydra/job_logging=disabled']\n"
        "runpy.run_module('ecgtricks.train', run_name='__main__')\n"
    )
    try:
        own, _ = peak_rss_of(train, {"ECGTRICKS_CACHE": str(tmp / "cache-root")})
        report("peak RSS, CPU training run (demo, 1 epoch, 1,200 records)", own, "MiB")
    except subprocess.CalledProcessError as exc:  # the figure is missing, the rest still counts
        print(f"  training-run memory not measured: {exc.stderr[-500:]}")


# ---------------------------------------------------------------------------- full scale (twin)


def _tree_rss_mib(root: int) -> float:
    """Resident memory of a process and all its descendants now (MiB), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total / 2**20


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, sampled peak RSS of the whole process tree (MiB, every 0.1 s), stdout.

    The command's output goes to files, not pipes: a pipe read only at the end fills up (64 KiB
    of progress bar) and blocks the command, as it did on the 2021 corpus's cache build."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=err, text=True)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mib(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-2000:]}")
    return seconds, peak, stdout


def _disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench_fullscale(tmp: Path, scale: float, twin_dir: Path | None, train_batches: int,
                    edition: int = 2020) -> None:
    """The pipeline a user runs on the corpus, on the twin at ``scale``: generation, the
    dsail2020 cache (time, memory of all processes, disk), its reuse, a fold's first training
    step, a partial CPU epoch, a full validation pass, and a finished job run again. Targets are
    issue 14's for scale 1 (2020: 43,101 records) and issue 21's for the 2021 twin (88,253
    records: the cache in 6 minutes)."""
    py = sys.executable
    twin = twin_dir or tmp / f"twin-{edition}-{scale}"
    tag = f"twin {edition} x{scale}"
    cache_target = "<= 180 (scale 1)" if edition == 2020 else "<= 360 (scale 1)"
    env = {"ECGTRICKS_CACHE": str(tmp / "fullscale-cache"), "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore"}
    manifest = twin / "twin.json"
    if not (manifest.is_file() and json.loads(manifest.read_text()).get("complete")):
        seconds, _, _ = run_measured([py, "-m", "ecgtricks.synthesize", str(twin), "--scale", str(scale),
                                      "--edition", str(edition), "--no-progress"], env, tmp)
        summary = json.loads(manifest.read_text())
        report(f"{tag}: synthesize {summary['records']} records", summary["records"] / seconds, "records/s",
               note=f"{seconds:.1f} s, {summary['bytes'] / 2**30:.2f} GiB on disk")
    recipe = ["experiment=dsail2020", f"data=challenge{edition}", f"data.path={twin}"]
    seconds, peak, _ = run_measured([py, "-m", "ecgtricks.prepare", *recipe], env, tmp)
    caches = tmp / "fullscale-cache" / "caches"
    report(f"{tag}: dsail2020 cache build, wall", seconds, "s", cache_target)
    report(f"{tag}: dsail2020 cache build, peak RSS of all processes", peak, "MiB", "<= 2048 (scale 1)")
    report(f"{tag}: dsail2020 cache on disk", _disk_bytes(caches) / 2**30, "GiB")
    seconds, _, _ = run_measured([py, "-m", "ecgtricks.prepare", *recipe], env, tmp)
    report(f"{tag}: prepare that finds the cache built", seconds, "s", "<= 2")
    train = [py, "-m", "ecgtricks.train", *recipe, "trainer.max_epochs=1", f"+trainer.limit_train_batches={train_batches}",
             "trainer.enable_progress_bar=false", "logger=csv", f"output_root={tmp / 'fullscale-runs'}"]
    seconds, peak, _ = run_measured(train, env, tmp)
    summary = json.loads(next((tmp / "fullscale-runs").rglob("summary.json")).read_text())
    report(f"{tag}: command to first training step (fold 0)", summary["first_step_s"], "s", "<= 30 (scale 1)")
    report(f"{tag}: dsail2020 CPU training, {train_batches} batches of 128", summary["train_records_per_s"], "records/s")
    report(f"{tag}: validation pass over fold 0 ({summary['n_val']} records)", summary["val_seconds"], "s",
           note=f"{summary['n_val'] / summary['val_seconds']:.0f} records/s; run peak RSS {peak:.0f} MiB")
    seconds, _, out = run_measured(train, env, tmp)
    assert "skipping" in out, out[-500:]
    report(f"{tag}: a finished sweep job run again (skipped)", seconds, "s", "<= 2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for tests)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda for the training-step figures")
    parser.add_argument("--only", nargs="*",
                        default=["data", "training", "backbones", "tricks", "loop", "metrics", "memory", "scaling",
                                 "fullscale"])
    parser.add_argument("--twin-scale", type=float, default=0.05, help="fullscale: the twin's scale (1 = 43,101 records)")
    parser.add_argument("--twin-dir", type=Path, default=None, help="fullscale: an existing twin to use")
    parser.add_argument("--train-batches", type=int, default=10, help="fullscale: training batches timed")
    parser.add_argument("--edition", type=int, default=2020, choices=(2020, 2021), help="fullscale: the twin's edition")
    parser.add_argument("--models", nargs="*", default=None, help="backbones: which (default: all registered)")
    parser.add_argument("--out", default="bench-results.json")
    args = parser.parse_args()

    import torch

    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
               "processor": platform.processor() or platform.machine(),
               "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    RESULTS["machine"] = machine
    print(f"machine: {machine}")
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="ecgtricks-bench-"))
    try:
        if "data" in args.only or "memory" in args.only:
            if "data" in args.only:
                bench_data(tmp, args.records, args.quick)
            else:
                from ecgtricks.synth.builtin import generate_dataset

                generate_dataset(tmp / "synthetic", n_records=args.records, seed=0)
        if "training" in args.only:
            bench_training(args.device, args.quick)
        if "backbones" in args.only:
            bench_backbones(args.device, args.quick, args.models)
        if "tricks" in args.only:
            bench_tricks(args.device, args.quick)
        if "loop" in args.only:
            bench_loop(tmp, args.device, args.quick)
        if "metrics" in args.only:
            bench_metrics()
        if "memory" in args.only:
            bench_memory(tmp, args.records)
        if "scaling" in args.only:
            bench_scaling(tmp, args.quick)
        if "fullscale" in args.only:
            bench_fullscale(tmp, args.twin_scale, args.twin_dir, args.train_batches, args.edition)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS["wall_time_s"] = time.perf_counter() - started
    RESULTS["peak_rss_mib_bench_process"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(args.out).write_text(json.dumps(RESULTS, indent=1))
    print(f"{time.perf_counter() - started:.0f} s in all -> {args.out}")


if __name__ == "__main__":
    main()
