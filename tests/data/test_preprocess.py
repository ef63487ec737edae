from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from ecgtricks.data.preprocess import Butterworth, Notch, Resample, Scale, build_pipeline
from ecgtricks.utils.errors import ConfigError

RNG = np.random.default_rng(0)
X = RNG.standard_normal((12, 3000)).astype(np.float32)


def per_lead(fn, x):
    return np.stack([fn(lead) for lead in x])


def test_resample_matches_per_lead_polyphase() -> None:
    y, fs = Resample(500)(X, 1000)
    assert fs == 500 and y.shape == (12, 1500)
    np.testing.assert_allclose(y, per_lead(lambda v: sps.resample_poly(v, 1, 2), X), atol=1e-6)
    y, fs = Resample(500)(X, 257)  # INCART's rate: an awkward ratio
    assert y.shape[1] == int(np.ceil(3000 * 500 / 257))
    same, _ = Resample(500)(X, 500)
    assert same is X


def test_notch_matches_filtfilt_per_lead_and_removes_mains() -> None:
    t = np.arange(5000) / 500
    x = np.stack([np.sin(2 * np.pi * 5 * t) + np.sin(2 * np.pi * 50 * t)] * 12).astype(np.float32)
    y, _ = Notch((50.0, 60.0))(x, 500)
    expected = x.astype(np.float64)
    for f0 in (50.0, 60.0):
        b, a = sps.iirnotch(f0, f0, fs=500)
        expected = per_lead(lambda v, b=b, a=a: sps.filtfilt(b, a, v), expected)
    # One forward-backward pass of the cascaded notches: the per-notch passes' result except
    # for the edge transients (which depend on the padding, not the filter).
    np.testing.assert_allclose(y[:, 2000:-2000], expected[:, 2000:-2000], atol=1e-5)
    b = np.convolve(*(sps.iirnotch(f0, f0, fs=500)[0] for f0 in (50.0, 60.0)))
    a = np.convolve(*(sps.iirnotch(f0, f0, fs=500)[1] for f0 in (50.0, 60.0)))
    np.testing.assert_allclose(y, per_lead(lambda v: sps.filtfilt(b, a, v), x.astype(np.float64)), atol=1e-5)
    spectrum = np.abs(np.fft.rfft(y[0, 500:-500]))
    freqs = np.fft.rfftfreq(4000, 1 / 500)
    assert spectrum[np.argmin(abs(freqs - 50))] < 0.01 * spectrum[np.argmin(abs(freqs - 5))]


@pytest.mark.parametrize(("kind", "low", "high"), [("bandpass", 0.5, 40), ("highpass", 0.5, None), ("lowpass", None, 40)])
def test_butterworth_matches_sosfiltfilt(kind, low, high) -> None:
    y, _ = Butterworth(kind, low, high, 3)(X, 500)
    cutoff = {"bandpass": [low, high], "highpass": low, "lowpass": high}[kind]
    sos = sps.butter(3, cutoff, btype=kind, fs=500, output="sos")
    np.testing.assert_allclose(y, per_lead(lambda v: sps.sosfiltfilt(sos, v), X), atol=1e-5)


def test_scalers() -> None:
    y, _ = Scale("standard")(X * 3 + 1, 500)
    np.testing.assert_allclose(y.mean(1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(1), 1, atol=1e-4)
    y, _ = Scale("minmax")(X, 500)
    np.testing.assert_allclose([y.min(1), y.max(1)], [np.zeros(12), np.ones(12)], atol=1e-5)
    y, _ = Scale("robust")(X, 500)
    q1, med, q3 = np.percentile(y, [25, 50, 75], axis=1)
    np.testing.assert_allclose(med, 0, atol=1e-5)
    np.testing.assert_allclose(q3 - q1, 1, atol=1e-4)
    assert Scale("none")(X, 500)[0] is X


def test_pipeline_from_config_order_and_spec() -> None:
    pipeline = build_pipeline(
        {"resample": {"type": "resample", "fs": 250}, "notch": None,
         "filter": {"type": "filter", "kind": "highpass", "low": 0.5}, "scale": {"type": "scale", "method": "standard"}}
    )
    assert [s["step"] for s in pipeline.spec()] == ["Resample", "Butterworth", "Scale"]
    y, fs = pipeline(X, 500)
    assert fs == 250 and y.shape == (12, 1500) and y.dtype == np.float32
    assert pipeline.spec() != build_pipeline({"resample": {"type": "resample", "fs": 500}}).spec()
    with pytest.raises(ConfigError, match="unknown step type"):
        build_pipeline({"x": {"type": "wavelet"}})
    with pytest.raises(ConfigError, match="scaling method"):
        build_pipeline({"scale": {"method": "zscore"}})


def test_a_long_record_is_processed_a_few_leads_at_a_time_with_the_same_result() -> None:
    from ecgtricks.data.preprocess import Pipeline, build_pipeline

    pipeline = build_pipeline({"resample": {"type": "resample", "fs": 500},
                               "notch": {"type": "notch", "freqs": [50, 60]},
                               "scale": {"type": "scale", "method": "standard"}})
    x = np.random.default_rng(0).standard_normal((12, Pipeline.LONG_SAMPLES + 1000)).astype(np.float32)
    grouped, fs = pipeline(x, 257.0)
    whole, fs_whole = pipeline._apply(x, 257.0)
    assert fs == fs_whole == 500 and grouped.dtype == np.float32
    np.testing.assert_array_equal(grouped, whole)
