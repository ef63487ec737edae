"""Every trick config: composes alone and stacked, touches only its own keys, trains for an epoch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from ecgtricks.models import build_model
from ecgtricks.runs import rundir
from ecgtricks.runs.recipes import available_tricks, compose_without
from ecgtricks.scoring.labels import SCORED_CLASSES
from ecgtricks.training.fit import fit
from ecgtricks.utils.paths import config_dir

TRICKS = available_tricks()
FINAL = [
    "notch_filter", "standardize", "chunking", "large_kernel", "wide", "stride4", "pool_shortcut",
    "dropout", "confusion_weight", "manifold_mixup", "warmup_cosine", "no_bias_decay",
    "threshold_tuning", "best_checkpoint", "fold_ensemble",
]
PAPER = sorted({
    *FINAL, "bandpass_filter", "all_negative", "squeeze_excite", "resnext", "resnest", "bottleneck",
    "class_weight", "input_mixup",
})
# Tricks from other sources, not in the paper (their one-epoch runs: tests/training/test_losses_new.py,
# tests/training/test_optim_tricks.py).
NEW = ["asymmetric_loss", "focal_loss", "label_smoothing", "challenge_loss", "adamw", "one_cycle", "grad_clip",
       "ema", "swa", "sliding_window_tta", "baseline_wander", "noise", "amplitude_scale", "time_stretch",
       "time_mask", "cutmix"]
ALL = sorted({*PAPER, *NEW})


def flat(cfg: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, f"{prefix}{k}.")
        else:
            out[prefix[:-1]] = node

    walk(OmegaConf.to_container(cfg, resolve=False), "")
    return out


def n_params(cfg: Any) -> int:
    net = build_model(cfg.model, len(cfg.data.leads), len(SCORED_CLASSES))
    return sum(p.numel() for p in net.parameters())


def test_every_trick_of_the_paper_has_a_config_with_a_two_line_comment() -> None:
    assert TRICKS == ALL
    for name in TRICKS:
        lines = (config_dir() / "trick" / f"{name}.yaml").read_text().splitlines()
        assert lines[0] == "# @package _global_"
        assert lines[1].startswith("# ") and lines[2].startswith("# Paper:"), name


@pytest.mark.parametrize("name", ALL)
def test_trick_touches_only_its_own_keys(name: str, compose) -> None:
    base, on = flat(compose()), flat(compose(f"+trick={name}"))
    changed = {k for k in base.keys() | on.keys() if base.get(k) != on.get(k)}
    assert changed, f"{name} changes nothing"
    assert f"tricks.{name}" in changed
    trick_keys = set(flat(OmegaConf.load(config_dir() / "trick" / f"{name}.yaml")))
    assert changed <= trick_keys, f"{name} changed keys outside its file: {changed - trick_keys}"


def test_tricks_stack_and_the_paper_recipe_is_exact(compose) -> None:
    stacked = compose("+trick=[squeeze_excite,manifold_mixup]")
    assert set(stacked.tricks) == {"squeeze_excite", "manifold_mixup"}
    assert stacked.model.se_reduction == 4 and stacked.augment.mixup == "manifold"
    recipe = compose("experiment=dsail2020")
    assert sorted(recipe.tricks) == sorted(FINAL)
    assert n_params(recipe) == 3_370_968
    assert n_params(compose()) == 245_496  # the baseline network


@pytest.mark.parametrize("drop", ["dropout", "wide", "chunking"])
def test_without_removes_exactly_one_trick_from_the_recipe(drop: str, compose) -> None:
    full = compose("experiment=dsail2020")
    cfg = compose("experiment=dsail2020", f"without={drop}")
    reduced = compose_without(cfg, ["experiment=dsail2020", f"without={drop}"])
    baseline = compose()
    assert sorted(reduced.tricks) == sorted(set(FINAL) - {drop})
    dropped_keys = set(flat(OmegaConf.load(config_dir() / "trick" / f"{drop}.yaml"))) - {f"tricks.{drop}"}
    f_full, f_red, f_base = flat(full), flat(reduced), flat(baseline)
    for key in dropped_keys:  # the removed trick's keys fall back to the baseline's values
        assert f_red[key] == f_base[key], key
    others = {k for k in f_full if k not in dropped_keys and not k.startswith("tricks.") and k != "without"}
    assert all(f_red.get(k) == f_full[k] for k in others)


def run_cli(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_typos_fail_before_training_with_the_valid_names(tmp_path: Path) -> None:
    proc = run_cli("ecgtricks.train", "experiment=dsail2020", "without=dropuot", f"output_root={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown trick(s) ['dropuot']" in proc.stderr and "squeeze_excite" in proc.stderr
    proc = run_cli("ecgtricks.train", "+trick=squeez", f"output_root={tmp_path}", cwd=tmp_path)
    assert proc.returncode != 0 and "Could not find 'trick/squeez'" in proc.stderr
    assert "squeeze_excite" in proc.stderr
    proc = run_cli("ecgtricks.train", "without=dropout", f"output_root={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 2 and "not in effect" in proc.stderr
    assert not list(tmp_path.rglob("summary.json"))


def test_describe_prints_tricks_network_params_and_flops(tmp_path: Path) -> None:
    proc = run_cli("ecgtricks.describe", "experiment=dsail2020", "without=[dropout]", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "params=3370968" in lines  # dropout has no parameters
    tricks = next(line for line in lines if line.startswith("tricks: "))
    assert "dropout" not in tricks and "wide" in tricks
    flops = next(line for line in lines if line.startswith("flops_per_chunk="))
    assert int(flops.split("=")[1].split()[0]) > 0
    assert any("ResNet1d(" in line for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("name", PAPER)
def test_one_epoch_with_each_trick(name: str, tmp_path: Path, compose) -> None:
    cfg = compose("debug=smoke", f"+trick={name}", "data.n_records=64", "data.limit=64", "seed=1")
    summary = fit(rundir.bind(cfg, tmp_path / "fold0"), [f"+trick={name}"])
    assert summary["epochs"] == 1 and summary["n_val"] > 0
    assert -1.0 <= summary["challenge_score"] <= 1.0
    assert (tmp_path / "fold0" / "model" / "model.json").is_file()


@pytest.mark.slow
def test_one_epoch_with_the_whole_recipe(tmp_path: Path, compose) -> None:
    cfg = compose("experiment=dsail2020", "debug=smoke", "data.n_records=64", "data.limit=64")
    summary = fit(rundir.bind(cfg, tmp_path / "fold0"), ["experiment=dsail2020"])
    assert summary["checkpoint"] == "best" and summary["thresholds_saved"] == "tuned"
