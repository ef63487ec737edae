"""The Challenge 2021 lead sets: ``leads=12|6|4|3|2`` is an ordinary override; the network is
built for its lead count and a reduced-lead model reads only its leads from a 12-lead record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from ecgtricks.data.leads import LEAD_SETS
from ecgtricks.models import build_model
from ecgtricks.predict import main as predict_main
from ecgtricks.runs import rundir
from ecgtricks.scoring.labels import SCORED_CLASSES
from ecgtricks.scoring.outputs import read_output
from ecgtricks.training.fit import fit
from ecgtricks.utils.conf import as_dict


def test_each_lead_set_sets_the_data_leads_and_the_network_width(compose) -> None:
    expected = {12: 12, 6: 6, 4: 4, 3: 3, 2: 2}
    params = {}
    for n, count in expected.items():
        cfg = compose(f"leads={n}")
        assert list(cfg.data.leads) == list(LEAD_SETS[n]) and len(cfg.data.leads) == count
        net = build_model(as_dict(cfg.model), len(cfg.data.leads), len(SCORED_CLASSES))
        params[n] = sum(p.numel() for p in net.parameters())
    assert params[12] > params[6] > params[4] > params[3] > params[2]
    assert list(compose().data.leads) == list(LEAD_SETS[12])  # the default
    assert LEAD_SETS[4] == ("I", "II", "III", "V2") and LEAD_SETS[3] == ("I", "II", "V2")


def test_an_unknown_lead_set_names_the_valid_ones(compose) -> None:
    with pytest.raises(Exception, match=r"the lead sets are \[12, 6, 4, 3, 2\]"):
        compose("leads=5").data.leads  # noqa: B018 (resolving is the check)


@pytest.mark.slow
def test_a_two_lead_model_trains_and_reads_only_its_leads(tmp_path: Path, samples_dir: Path, compose) -> None:
    cfg = compose("debug=smoke", "data=folder", f"data.path={samples_dir}", "leads=2")
    summary = fit(rundir.bind(cfg, tmp_path / "run"))
    model_dir = tmp_path / "run" / "model"
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["n_parameters"] == summary["n_parameters"]
    assert json.loads((model_dir / "model.json").read_text())["classes"] == list(SCORED_CLASSES)
    # Two records: a real 12-lead one, and the same with its ten other leads scrambled and its
    # leads in another order. A model of I and II must not see the difference.
    data = tmp_path / "records"
    data.mkdir()
    hea = samples_dir / "A0001.hea"
    shutil.copy(hea, data / "A0001.hea")
    shutil.copy(hea.with_suffix(".mat"), data / "A0001.mat")
    lines = hea.read_text().splitlines()
    val = scipy.io.loadmat(hea.with_suffix(".mat"))["val"]
    order = [1, 0, *range(2, 12)][::-1]  # II and I moved, the rest reversed
    noise = np.random.default_rng(0).integers(-500, 500, val.shape).astype(val.dtype)
    scrambled = np.where(np.isin(np.arange(12), [0, 1])[:, None], val, noise)[order]
    scipy.io.savemat(data / "B0001.mat", {"val": scrambled}, format="4")
    signal_lines = [lines[1 + i].replace("A0001", "B0001") for i in order]
    (data / "B0001.hea").write_text("\n".join([lines[0].replace("A0001", "B0001"), *signal_lines, *lines[13:]]) + "\n")
    out = tmp_path / "out"
    assert predict_main([str(model_dir), str(data), str(out)]) == 0
    _, classes_a, binary_a, probs_a = read_output(out / "A0001.csv")
    _, classes_b, binary_b, probs_b = read_output(out / "B0001.csv")
    assert len(classes_a) == 24 and classes_a == classes_b
    np.testing.assert_array_equal(probs_a, probs_b)  # the same samples through the same operations
