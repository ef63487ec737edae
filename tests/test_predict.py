"""Model directories, fold ensembles and the predict CLI, on models trained on the shared samples."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from ecgtricks.evaluate import main as evaluate_main
from ecgtricks.predict import main as predict_main
from ecgtricks.runs import rundir
from ecgtricks.runs.modeldir import load_ensemble, load_model_dir
from ecgtricks.scoring.outputs import read_output
from ecgtricks.training.fit import fit


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, samples_dir: Path, compose) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for fold, tune in ((0, True), (1, False)):
        cfg = compose("debug=smoke", "data=folder", f"data.path={samples_dir}", f"fold={fold}",
                      f"postprocess.tune_thresholds={tune}", "trainer.max_epochs=2")
        fit(rundir.bind(cfg, root / f"fold{fold}"))
    return root


@pytest.mark.slow
def test_model_dir_is_self_contained(trained: Path) -> None:
    summary = json.loads((trained / "fold0" / "summary.json").read_text())
    assert summary["challenge_score_tuned"] >= summary["challenge_score"] - 1e-12
    model = load_model_dir(trained / "fold0" / "model")
    tuned = np.asarray(json.loads((trained / "fold0" / "model" / "model.json").read_text())["thresholds"])
    assert np.array_equal(model.thresholds, tuned) and not np.all(tuned == 0.5)
    assert np.all(load_model_dir(trained / "fold1" / "model").thresholds == 0.5)
    assert model.oof()["probabilities"].shape == (summary["n_val"], 24)


@pytest.mark.slow
def test_ensemble_thresholds_mean_and_retune(trained: Path) -> None:
    assert len(load_ensemble(trained).models) == 1  # trained without the fold_ensemble trick
    mean = load_ensemble(trained, thresholds="mean", fold_ensemble=True)
    assert len(mean.models) == 2
    np.testing.assert_allclose(mean.thresholds, np.mean([m.thresholds for m in mean.models], axis=0))
    retuned = load_ensemble(trained, thresholds="retune", fold_ensemble=True)
    assert retuned.thresholds.shape == (24,)


@pytest.mark.slow
def test_predict_then_evaluate(trained: Path, samples_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "outputs"
    args = [str(trained), str(samples_dir), str(out), "--thresholds", "retune", "--fold-ensemble"]
    assert predict_main(args) == 0
    files = sorted(out.glob("*.csv"))
    assert len(files) == 120
    name, classes, binary, probs = read_output(out / "A0001.csv")
    assert name == "A0001" and len(classes) == 24 and binary.shape == probs.shape == (24,)
    assert ((probs >= 0) & (probs <= 1)).all()
    capsys.readouterr()
    assert evaluate_main([str(samples_dir), str(out)]) == 0
    header, values = capsys.readouterr().out.strip().splitlines()
    assert header.endswith("Challenge metric") and len(values.split(",")) == 7


@pytest.mark.slow
def test_predict_a_30_minute_257_hz_record(trained: Path, tmp_path: Path) -> None:
    # St Petersburg INCART: 30 minutes at 257 Hz, read, resampled and windowed.
    data = tmp_path / "incart"
    data.mkdir()
    n = 30 * 60 * 257
    val = (np.random.default_rng(0).standard_normal((12, n)) * 200).astype(np.int16)
    scipy.io.savemat(data / "I0001.mat", {"val": val}, format="4")
    leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    lines = [f"I0001 12 257 {n}"] + [f"I0001.mat 16+24 1000/mV 16 0 {val[i, 0]} 0 0 {lead}" for i, lead in enumerate(leads)]
    (data / "I0001.hea").write_text("\n".join(lines + ["#Age: 60", "#Sex: Male", "#Dx: 164889003"]) + "\n")
    out = tmp_path / "out"
    assert predict_main([str(trained / "fold0" / "model"), str(data), str(out)]) == 0
    assert read_output(out / "I0001.csv")[0] == "I0001"
