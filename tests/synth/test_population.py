"""The population measures, the twin's variability and label noise, and the twin against real ECGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ecgtricks.data.record import find_records, read_record
from ecgtricks.synth import ecg as m
from ecgtricks.synth.population import LEADS, label_agreement, percentiles, record_measures
from ecgtricks.synth.twin import (
    LABEL_MISSING_SIGN,
    LABEL_UNLABELLED_SIGN,
    _prevalence,
    shown_codes,
    synthesize,
)


def _measured(folder: Path, per_source: int | None = None) -> list[tuple[tuple[str, ...], dict[str, float]]]:
    rows, seen = [], {}
    for path in find_records(folder):
        key = path.parent.name
        if per_source is not None and seen.get(key, 0) >= per_source:
            continue
        seen[key] = seen.get(key, 0) + 1
        rec = read_record(path)
        order = [rec.lead_names.index(lead) for lead in LEADS]
        rows.append((rec.labels, record_measures(rec.signal[order], rec.fs)))
    return rows


def test_measures_recover_what_was_generated() -> None:
    ecg = m.generate_ecg(np.random.default_rng(3), [m.NSR], fs=500, duration_s=10,
                         noise=m.NoiseProfile(white_mv=0.004, wander_mv=0.0))
    got = record_measures(ecg.signal_mv, 500)
    truth = ecg.truth
    assert got["hr_bpm"] == pytest.approx(truth["heart_rate_bpm"], abs=2)
    assert got["axis_deg"] == pytest.approx(truth["axis_deg"], abs=15)
    assert got["white_mv"] == pytest.approx(0.004, rel=0.25)
    assert got["qrs_II_mv"] == pytest.approx(truth["qrs_lead_p2p_mv"][1], rel=0.2)
    assert got["qrs_V2_mv"] == pytest.approx(truth["qrs_lead_p2p_mv"][7], rel=0.2)
    assert got["beat_corr"] > 0.99  # the model's own beats hardly differ
    # the same heart at 1000 Hz measures alike (every measure is taken at 500 Hz)
    fast = m.generate_ecg(np.random.default_rng(3), [m.NSR], fs=1000, duration_s=10,
                          noise=m.NoiseProfile(white_mv=0.004, wander_mv=0.0))
    again = record_measures(fast.signal_mv, 1000)
    assert again["hr_bpm"] == pytest.approx(got["hr_bpm"], rel=0.02)
    assert again["qrs_II_mv"] == pytest.approx(got["qrs_II_mv"], rel=0.1)


def test_label_agreement_counts_disagreements() -> None:
    rows = [((m.NSR,), {"hr_bpm": 70.0}), ((m.NSR, m.LAD), {"hr_bpm": 110.0, "axis_deg": -50.0}),
            ((m.STACH,), {"hr_bpm": 90.0}), ((m.SB,), {})]
    got = label_agreement(rows)
    assert got[m.NSR] == (2, 1) and got[m.STACH] == (1, 1) and got[m.LAD] == (1, 0)
    assert got[m.SB] == (0, 0)  # no rate measured: not checked
    assert percentiles([{"a": 1.0}, {"a": 3.0}, {"b": 2.0}], (50,)) == {"a": (2.0,), "b": (2.0,)}


def test_default_variability_is_the_models_own() -> None:
    codes = [m.AF, m.RBBB, m.PVC]
    a = m.generate_ecg(np.random.default_rng(5), codes, fs=500, duration_s=10)
    b = m.generate_ecg(np.random.default_rng(5), codes, fs=500, duration_s=10, variability=m.Variability())
    np.testing.assert_array_equal(a.signal_mv, b.signal_mv)
    assert "variability" not in a.truth and b.truth["variability"]["resp_qrs"] == 0.04


def test_drawn_variability_spreads_beats_as_real_records_do() -> None:
    rows = {"model": [], "drawn": []}
    for i in range(24):
        for kind in rows:
            rng = np.random.default_rng([11, i])
            var = m.draw_variability(np.random.default_rng([12, i])) if kind == "drawn" else None
            ecg = m.generate_ecg(rng, [m.NSR], fs=500, duration_s=10, variability=var,
                                 noise=m.NoiseProfile(white_mv=0.002, wander_mv=0.05))
            rows[kind].append(record_measures(ecg.signal_mv, 500))
    model, drawn = (percentiles(rows[k], (10, 50, 90)) for k in ("model", "drawn"))
    # real records (docs/twin-calibration.md): qrs_cv 0.012 / 0.036 / 0.114; rr_cv of NSR
    # 0.017-0.059; the model's own: a fixed 4 % respiratory swing and ~1 % RR noise
    assert np.ptp(drawn["qrs_cv"]) > 2 * np.ptp(model["qrs_cv"])
    assert drawn["rr_cv"][2] > 1.5 * model["rr_cv"][2]
    assert 0.01 < drawn["qrs_cv"][1] < 0.08
    assert drawn["st_V2_mv"][1] > model["st_V2_mv"][1] + 0.02  # J-point elevation in V2


def test_label_noise_rates() -> None:
    rng = np.random.default_rng(0)
    labels = [m.NSR, m.RBBB, m.TAB]
    draws = [shown_codes(rng, labels, "ptbxl") for _ in range(4000)]
    missing = np.mean([[c not in d for c in labels] for d in draws])
    unlabelled = np.mean([bool(set(d) - set(labels)) for d in draws])
    assert missing == pytest.approx(LABEL_MISSING_SIGN, abs=0.015)
    # an extra finding already among the labels adds nothing: the rate times the others' share
    codes, weights = _prevalence("ptbxl")
    others = sum(w for c, w in zip(codes, weights, strict=True) if c not in labels)
    assert m.NSR not in codes and 0.5 < others < 1.0
    assert unlabelled == pytest.approx(LABEL_UNLABELLED_SIGN * others, abs=0.012)


def test_twin_population_matches_the_real_records(samples_dir: Path, tmp_path: Path) -> None:
    """The 2020 twin's populations sit where the real records' do (medians within a factor
    1.5; beat-to-beat change, white noise and both QRS sizes), and its labels disagree with
    the measures about as often (the figures: docs/twin-calibration.md)."""
    real = _measured(samples_dir)
    synthesize(tmp_path / "twin", scale=0.005, seed=0, workers=1, progress=False)
    twin = _measured(tmp_path / "twin", per_source=25)
    a = percentiles([r for _, r in real], (50,))
    b = percentiles([r for _, r in twin], (50,))
    for key in ("white_mv", "wander_mv", "qrs_limb_max_mv", "qrs_chest_max_mv", "qrs_cv", "qrs_V1_mv", "qrs_V4_mv"):
        assert 1 / 1.5 < b[key][0] / a[key][0] < 1.5, (key, a[key], b[key])
    assert 1 / 1.5 < (1 - b["beat_corr"][0]) / (1 - a["beat_corr"][0]) < 1.5
    ra, tw = label_agreement(real), label_agreement(twin)
    real_rate = sum(x[1] for x in ra.values()) / sum(x[0] for x in ra.values())
    twin_rate = sum(x[1] for x in tw.values()) / sum(x[0] for x in tw.values())
    assert real_rate > 0.05 and twin_rate > 0.02  # both have label noise


def test_unscored_diagnoses_show_their_sign_without_its_label(tmp_path: Path) -> None:
    from ecgtricks.data.sources import dx_counts
    from ecgtricks.synth.twin import (
        LOOKALIKES,
        TwinRecord,
        _model_codes,
        drawn_signs,
        write_twin_record,
    )

    mi, abnormal_qrs = "164865005", "164951009"
    assert drawn_signs((mi,)) == [m.QAB]  # an infarction shows Q waves
    assert drawn_signs((m.NSR, mi, "164884008")) == [m.NSR, m.QAB, m.PVC]
    assert drawn_signs((abnormal_qrs,)) == []  # no sign the model has: written only
    assert drawn_signs((m.BBB,)) == [m.BBB]  # a finding the model draws shows in either edition
    scored = {d.code for e in (2020, 2021) for d in dx_counts(e) if d.scored}
    assert not set(LOOKALIKES) & scored  # only unscored diagnoses borrow a sign
    assert {s for signs in LOOKALIKES.values() for s in signs} <= _model_codes()
    write_twin_record(tmp_path, 0, TwinRecord("ptbxl", "HR00001", (mi,)))
    header = (tmp_path / "ptbxl" / "HR00001.hea").read_text()
    assert f"Dx: {mi}\n" in header and m.QAB not in header  # the label is the diagnosis, not the sign
