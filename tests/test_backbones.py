"""Every backbone end to end with ``debug=smoke``: trains on 2020 records with 12 leads and on the
2021 twin with 2, resumes from ``last.ckpt``, predicts through ``predict`` from its model
directory and through ``challenge run`` from a fold ensemble. A trick that cannot apply to a
backbone fails before training, in one line."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.models import available_models, model_options
from ecgtricks.runs import recipes, rundir
from ecgtricks.runs.config import check
from ecgtricks.training.fit import fit
from ecgtricks.utils.errors import ConfigError
from ecgtricks.utils.paths import config_dir

BACKBONES = [m for m in available_models() if m != "resnet1d"]  # resnet1d: the rest of the suite


def test_every_backbone_has_a_config_and_a_smoke_size() -> None:
    for name in available_models():
        assert (config_dir() / "model" / f"{name}.yaml").is_file(), name
        assert (config_dir() / "debug_model" / f"smoke_{name}.yaml").is_file(), name


@pytest.mark.parametrize("model", available_models())
def test_a_trick_that_cannot_apply_fails_in_one_line(model: str, compose: Callable) -> None:
    """For each trick: it composes and passes the checks where the backbone has every option it
    sets, and fails before training, naming trick, backbone and where it applies, elsewhere."""
    options = set(model_options(model))
    for trick in recipes.available_tricks():
        cfg = compose("debug=smoke", f"model={model}", f"+trick={trick}")
        applies = recipes.trick_model_keys(trick) <= options
        assert (model in recipes.applies_to(trick)) == applies
        if applies:
            check(cfg)
            continue
        with pytest.raises(ConfigError) as err:
            check(cfg)
        message = str(err.value)
        assert "\n" not in message
        assert message.startswith(f"trick {trick} does not apply to model={model} ")
        assert message.endswith(f"{trick} applies to: {', '.join(recipes.applies_to(trick))}")


def test_tricks_of_data_loss_training_and_postprocessing_apply_everywhere() -> None:
    for trick in recipes.available_tricks():
        if not recipes.trick_model_keys(trick):
            assert recipes.applies_to(trick) == available_models(), trick
    # the transfer study's tricks apply to every backbone
    for trick in ("squeeze_excite", "manifold_mixup", "confusion_weight", "dropout"):
        assert recipes.applies_to(trick) == available_models(), trick


@pytest.fixture(scope="module")
def twin2021(tmp_path_factory: pytest.TempPathFactory) -> Path:
    twin = tmp_path_factory.mktemp("twin2021")
    proc = subprocess.run([sys.executable, "-m", "ecgtricks.synthesize", str(twin), "--edition", "2021",
                           "--scale", "0.004", "--sources", "chapman_shaoxing", "ningbo"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return twin


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{args}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("model", BACKBONES)
def test_backbone_trains_resumes_and_predicts(model: str, compose: Callable, tmp_path: Path, samples_dir: Path,
                                             twin2021: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ecgtricks.predict import main as predict_main

    # 2020, 12 leads, real records: train, then resume from last.ckpt as if killed before the end
    cfg = compose("debug=smoke", f"model={model}", "data=folder", f"data.path={samples_dir}", "logger=csv")
    run = tmp_path / "run2020"
    first = fit(rundir.bind(cfg, run))
    probs = np.load(run / "model" / "val_predictions.npz")["probabilities"]
    assert first["edition"] == 2020 and probs.shape[1] == 24 and np.isfinite(probs).all()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    with caplog.at_level(logging.INFO):
        again = fit(rundir.bind(cfg, run))
    assert "resuming from" in caplog.text
    assert again["challenge_score"] == first["challenge_score"]
    np.testing.assert_array_equal(np.load(run / "model" / "val_predictions.npz")["probabilities"], probs)
    assert predict_main([str(run / "model"), str(samples_dir), str(tmp_path / "predicted")]) == 0
    assert len(list((tmp_path / "predicted").glob("*.csv"))) == len(list(samples_dir.glob("*.hea")))

    # 2021, two leads, on the twin: 26 classes from two input channels
    cfg = compose("debug=smoke", f"model={model}", "data=challenge2021", f"data.path={twin2021}",
                  "data.sources=[chapman_shaoxing,ningbo]", "data.limit=null", "leads=2", "logger=csv")
    summary = fit(rundir.bind(cfg, tmp_path / "run2021"))
    meta = json.loads((tmp_path / "run2021" / "model" / "model.json").read_text())
    assert summary["edition"] == meta["edition"] == 2021 and len(meta["classes"]) == 26
    assert summary["n_parameters"] < first["n_parameters"]  # two input channels, not twelve

    # the Challenge entry points: every fold, then the fold ensemble's outputs (the baseline recipe:
    # the default dsail2020 recipe's block tricks are resnet1d's)
    ensemble, outputs = tmp_path / "entry", tmp_path / "outputs"
    _python("ecgtricks.challenge", "train", str(samples_dir), str(ensemble), "experiment=baseline", "debug=smoke",
            f"model={model}",
            "data.n_folds=2", "logger=csv", cwd=tmp_path)
    proc = _python("ecgtricks.challenge", "run", str(ensemble), str(samples_dir), str(outputs), cwd=tmp_path)
    assert "from 2 fold models" in proc.stdout
    assert len(list(outputs.glob("*.csv"))) == len(list(samples_dir.glob("*.hea")))


def test_readme_trick_by_backbone_table_is_true() -> None:
    """README's marks (✓ applies, — does not) equal what the checks do."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    lines = text[text.index("<!-- trick x backbone"):].splitlines()[1:]
    header = [c.strip().strip("`") for c in lines[0].strip("|").split("|")]
    backbones = header[1:-1]
    assert sorted(backbones) == available_models()
    seen = set()
    for line in lines[2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        trick = cells[0].strip("`")
        marks = dict(zip(backbones, cells[1:-1], strict=True))
        assert {m for m, v in marks.items() if v == "✓"} == set(recipes.applies_to(trick)), trick
        seen.add(trick)
    assert seen == {t for t in recipes.available_tricks() if recipes.trick_model_keys(t)}
