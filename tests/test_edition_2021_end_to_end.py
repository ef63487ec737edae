"""The 2021 edition end to end: the 2021 twin is read with 0 skipped, trains with 12 and 2 leads
(fewer parameters, the same 26 classes), and its model writes what the 2021 scorer reads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgtricks.runs import rundir
from ecgtricks.scoring.editions import edition
from ecgtricks.scoring.label_files import load_labels
from ecgtricks.scoring.metrics import evaluate
from ecgtricks.scoring.outputs import load_outputs
from ecgtricks.training.fit import fit


@pytest.mark.slow
def test_2021_twin_trains_with_12_and_2_leads_and_writes_2021_outputs(
        tmp_path: Path, samples_dir: Path, reference_dir: Path, compose) -> None:
    twin = tmp_path / "twin2021"
    proc = subprocess.run([sys.executable, "-m", "ecgtricks.synthesize", str(twin), "--edition", "2021",
                           "--scale", "0.004", "--sources", "chapman_shaoxing", "ningbo"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "data=challenge2021" in proc.stdout
    base = ["debug=smoke", "data=challenge2021", f"data.path={twin}", "data.sources=[chapman_shaoxing,ningbo]",
            "data.limit=null", "logger=csv"]
    summaries = {}
    for leads in (12, 2):
        cfg = compose(*base, f"leads={leads}")
        assert cfg.data.edition == 2021
        summaries[leads] = fit(rundir.bind(cfg, tmp_path / f"leads{leads}"))
    for leads, summary in summaries.items():
        meta = json.loads((tmp_path / f"leads{leads}" / "model" / "model.json").read_text())
        assert summary["edition"] == meta["edition"] == 2021
        assert meta["classes"] == list(edition(2021).codes) and len(meta["classes"]) == 26
        assert summary["n_train"] + summary["n_val"] <= sum(1 for _ in twin.rglob("*.hea"))
    assert summaries[2]["n_parameters"] < summaries[12]["n_parameters"]
    for summary in summaries.values():  # every record of the twin read, none skipped
        assert json.loads((Path(summary["cache"]) / "skipped.json").read_text()) == []

    # The two-lead model on real Chapman-Shaoxing/Ningbo records (#Dx: headers, which the
    # official 2021 scorer reads), scored by ecgtricks and by the official 2021 scorer.
    labels_dir = tmp_path / "labels"
    labels_dir.mkdir()
    for hea in samples_dir.glob("JS*.hea"):
        if any(line.startswith("#Dx") for line in hea.read_text().splitlines()):
            shutil.copy(hea, labels_dir / hea.name)
            shutil.copy(hea.with_suffix(".mat"), labels_dir / hea.with_suffix(".mat").name)
    out = tmp_path / "outputs"
    proc = subprocess.run([sys.executable, "-m", "ecgtricks.predict", str(tmp_path / "leads2" / "model"),
                           str(labels_dir), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first = next(out.glob("*.csv")).read_text().splitlines()[1].split(",")
    assert "733534002|164909002" in first and len(first) == 26
    names, labels = load_labels(labels_dir, edition=2021)
    binary, scores, problems = load_outputs(out, names, edition=2021)
    assert not problems
    ours = evaluate(labels, scores, binary, edition=2021)
    scorer = reference_dir / "official-scorer-2021"
    cwd = os.getcwd()
    sys.path.insert(0, str(scorer))
    try:
        os.chdir(scorer)
        import evaluate_model

        official = evaluate_model.evaluate_model(str(labels_dir), str(out))
    finally:
        os.chdir(cwd)
        sys.path.remove(str(scorer))
    for key, value in zip(("auroc", "auprc"), official[1:3], strict=True):
        assert ours[key] == pytest.approx(value, abs=1e-6), key
    assert ours["accuracy"] == pytest.approx(official[5], abs=1e-6)
    assert ours["f_measure"] == pytest.approx(official[6], abs=1e-6)
    assert ours["challenge_score"] == pytest.approx(official[8], abs=1e-6)
    assert np.isfinite(ours["challenge_score"])
