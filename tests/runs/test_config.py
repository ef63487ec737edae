"""The config schema: checked while Hydra composes, plain values after, and ``_target_`` plumbing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ecgtricks.runs import config
from ecgtricks.utils.conf import as_dict
from ecgtricks.utils.errors import ConfigError
from ecgtricks.utils.paths import config_dir


def group_options() -> list[tuple[str, str]]:
    groups = ("data", "split", "preprocess", "model", "input", "loss", "augment", "optim", "trainer",
              "postprocess", "callbacks", "logger", "experiment")
    return [(g, p.stem) for g in groups for p in sorted((config_dir() / g).glob("*.yaml"))]


@pytest.mark.parametrize(("group", "option"), group_options())
def test_every_config_file_composes_completely(compose, group: str, option: str) -> None:
    extra = ["data.path=/somewhere"] if (group, option) in (("data", "folder"), ("data", "challenge2020")) else []
    cfg = compose(f"{group}={option}", *extra)
    assert not OmegaConf.missing_keys(cfg), OmegaConf.missing_keys(cfg)
    assert OmegaConf.get_type(cfg) is config.TrainConfig


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("input.mode=chunks", "expected one of [crop, chunk]"),
        ("augment.mixup=cutout", "expected one of [none, input, manifold, cutmix]"),
        ("optim.scheduler=cosine", "expected one of [plateau, warmup_cosine, one_cycle, none]"),
        ("split.name=random", "expected one of [kfold, leave_one_source_out, dsail2020]"),
        ("data.on_error=ignore", "expected one of [skip, raise]"),
        ("postprocess.candidates=all", "expected one of [grid, distinct]"),
        ("batch_size=many", "could not be converted to Integer"),
        ("model.kernal_size=5", "Could not override 'model.kernal_size'"),
    ],
)
def test_bad_values_fail_at_composition(compose, override: str, message: str) -> None:
    with pytest.raises(Exception) as info:
        compose(override)
    assert message in str(info.value) + str(info.value.__cause__)


def test_choices_are_plain_strings_outside_omegaconf(compose) -> None:
    cfg = compose("+trick=chunking")
    assert cfg.input.mode == "chunk" and str(cfg.input.mode) == "chunk"
    section = as_dict(cfg.input)
    assert section["mode"] == "chunk" and type(section["mode"]) is str
    assert json.dumps({"mode": cfg.input.mode}) == '{"mode": "chunk"}'


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["fold=10"], "fold=10 is outside 0..9"),
        (["eval_batch_size=0"], "eval_batch_size=0 must be >= 1"),
        (["trainer.max_epochs=0"], "trainer.max_epochs=0 must be >= 1"),
        (["input.chunk_stride=0"], "must be in 1..input.chunk_length"),
        (["model.dropout=1.0"], "model.dropout=1.0 must be in [0, 1)"),
        # each network's options are its own schema, read from its signature
        (["+model.kernal_size=5"], "model.kernal_size is not an option of model=resnet1d; its options: ['base_width'"),
        (["model.base_width=abc"], "model.base_width: Value 'abc' of type 'str' could not be converted to Integer"),
        (["model.layers=3"], "model.layers: "),
        (["model.radix=2"], "radix does not apply to block='basic'"),
        (["+trick=bottleneck", "model.block=basic"], "expansion does not apply to block='basic'"),
        (["preprocess.scale={type: scale, method: zscore}"], "scaling method must be"),
    ],
)
def test_check_catches_what_types_cannot(compose, overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        config.check(compose(*overrides))


def test_the_dsail2020_recipe_passes_the_check(compose) -> None:
    config.check(compose("experiment=dsail2020"))  # builds the network on the meta device


def test_callbacks_and_loggers_are_instantiated_by_target_in_order(compose, tmp_path: Path) -> None:
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint

    from ecgtricks.runs import rundir
    from ecgtricks.training.callbacks import EpochLine, EpochSeed, Throughput

    cfg = rundir.bind(compose(
        "+trick=best_checkpoint", "logger=csv",
        "+callbacks.early_stop._target_=pytorch_lightning.callbacks.EarlyStopping",
        "+callbacks.early_stop.monitor=val/challenge_score", "+callbacks.early_stop.mode=max",
    ), tmp_path / "fold0")
    callbacks = config.instantiate_named(cfg.callbacks, "callbacks")
    assert [type(c) for c in callbacks] == [ModelCheckpoint, EpochSeed, Throughput, EpochLine, ModelCheckpoint,
                                            EarlyStopping]
    assert callbacks[0].dirpath == str(tmp_path / "fold0" / "checkpoints") and callbacks[4].monitor == "val/challenge_score"
    (csv,) = config.instantiate_named(cfg.logger, "logger")
    assert Path(csv.save_dir) == tmp_path / "fold0"
    cfg.callbacks.early_stop._target_ = "pytorch_lightning.callbacks.NoSuchCallback"
    with pytest.raises(ConfigError, match="callbacks.early_stop: "):
        config.instantiate_named(cfg.callbacks, "callbacks")


@pytest.mark.slow
def test_a_callback_added_on_the_command_line_runs(tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "ecgtricks.train", "debug=smoke", "data.n_records=64", "data.limit=64",
         "+callbacks.lr_monitor._target_=pytorch_lightning.callbacks.LearningRateMonitor",
         f"output_root={tmp_path}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (metrics,) = tmp_path.rglob("logs/metrics.csv")
    assert "lr-Adam" in metrics.read_text().splitlines()[0]
    assert "epoch 1/1: train loss" in proc.stdout  # the one console line per epoch
    assert "Tip:" not in proc.stdout + proc.stderr
