"""Sliding-window test-time augmentation (``sliding_window_tta``): which windows, their aggregate
equals scoring each window alone, the module evaluates with it, and a model directory predicts
with the windows its run validated with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ecgtricks.models import create_model
from ecgtricks.models.windows import sliding_window_logits, window_samples, window_starts


def _eval_model() -> torch.nn.Module:
    """float64, as tests/models/test_models.py: batched and alone agree to 1e-9 on any CPU."""
    torch.manual_seed(0)
    model = create_model("resnet1d", base_width=8).eval().double()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def _expected_starts(length: int, window: int, stride: int) -> list[int]:
    if length <= window:
        return [0]
    grid = list(range(0, length - window + 1, stride))
    return grid if grid[-1] == length - window else [*grid, length - window]


@pytest.mark.parametrize("length", [300, 500, 1000, 1100, 2500, 2501])
def test_windows_start_on_the_stride_grid_plus_one_aligned_to_the_end(length: int) -> None:
    window, stride = 500, 250
    n_windows = (3000 - window) // stride + 2
    starts, valid = window_starts(torch.tensor([length]), window, stride, n_windows)
    assert starts[0][valid[0]].tolist() == _expected_starts(length, window, stride)


@pytest.mark.parametrize("how", ["max", "mean"])
def test_aggregate_equals_each_window_scored_alone(how: str) -> None:
    net = _eval_model()
    lengths = torch.tensor([3000, 1100, 300])  # many windows, a tail window, shorter than a window
    x = torch.randn(3, 12, 3000, dtype=torch.float64)
    x[1, :, 1100:] = 0
    x[2, :, 300:] = 0
    window, stride = 500, 250
    with torch.no_grad():
        got = sliding_window_logits(net, x, lengths, window, stride, how)
        for i, n in enumerate(lengths.tolist()):
            per_window = torch.cat([net(x[i : i + 1, :, s : s + min(window, n)])
                                    for s in _expected_starts(n, window, stride)])
            if how == "max":
                want = per_window.amax(0)
            else:
                want = torch.logit(torch.sigmoid(per_window).mean(0), eps=torch.finfo(torch.float64).eps)
            torch.testing.assert_close(got[i], want, rtol=1e-9, atol=1e-9)


def test_a_batch_shorter_than_a_window_is_one_masked_window_per_record() -> None:
    net = _eval_model()
    x, lengths = torch.randn(2, 12, 400, dtype=torch.float64), torch.tensor([400, 250])
    x[1, :, 250:] = 0
    with torch.no_grad():
        torch.testing.assert_close(sliding_window_logits(net, x, lengths, 500, 250, "max"), net(x, lengths),
                                   rtol=1e-9, atol=1e-9)


def test_bad_aggregation_and_sizes_say_which() -> None:
    net, x, lengths = _eval_model(), torch.zeros(1, 12, 100, dtype=torch.float64), torch.tensor([100])
    with pytest.raises(ValueError, match="aggregation"):
        sliding_window_logits(net, x, lengths, 50, 25, "median")
    with pytest.raises(ValueError, match="stride"):
        sliding_window_logits(net, x, lengths, 50, 0, "max")


def test_window_samples_from_seconds() -> None:
    spec = window_samples({"tta": "max", "tta_window_s": 2.5, "tta_stride_s": 1.25}, 100.0)
    assert spec == {"how": "max", "window": 250, "stride": 125}


def test_the_trick_sets_the_benchmarks_windows_and_bad_strides_fail(compose: Any) -> None:
    from ecgtricks.runs.config import check
    from ecgtricks.utils.errors import ConfigError

    assert str(compose().postprocess.tta) == "none"
    post = compose("+trick=sliding_window_tta").postprocess
    assert (str(post.tta), post.tta_window_s, post.tta_stride_s) == ("max", 2.5, 1.25)
    with pytest.raises(ConfigError, match="tta_stride_s=5.0 must be in"):
        check(compose("+trick=sliding_window_tta", "postprocess.tta_stride_s=5"))


def test_the_module_evaluates_over_windows_only_with_the_trick(compose: Any) -> None:
    from ecgtricks.training.fit import build_module

    cfg = compose("debug=smoke", "+trick=sliding_window_tta")
    module = build_module(cfg, [1] * 24, fs=100.0).double().eval()
    plain = build_module(compose("debug=smoke"), [1] * 24, fs=100.0).double().eval()
    assert module.tta == {"how": "max", "window": 250, "stride": 125} and plain.tta is None
    x, lengths = torch.randn(2, 12, 900, dtype=torch.float64), torch.tensor([900, 600])
    x[1, :, 600:] = 0
    with torch.no_grad():
        torch.testing.assert_close(module(x, lengths), sliding_window_logits(module.net, x, lengths, 250, 125),
                                   rtol=0, atol=0)
        torch.testing.assert_close(plain(x, lengths), plain.net(x, lengths), rtol=0, atol=0)


@pytest.mark.slow
def test_a_model_directory_predicts_with_the_windows_it_validated_with(compose: Any, samples_dir: Path,
                                                                       tmp_path: Path) -> None:
    from ecgtricks.data.leads import order_leads
    from ecgtricks.data.record import read_record
    from ecgtricks.runs import rundir
    from ecgtricks.runs.modeldir import Ensemble, load_model_dir
    from ecgtricks.training.fit import fit

    cfg = compose("debug=smoke", "data=folder", f"data.path={samples_dir}", "+trick=sliding_window_tta")
    summary = fit(rundir.bind(cfg, tmp_path / "fold0"))
    assert summary["n_val"] > 0
    model = load_model_dir(tmp_path / "fold0" / "model")
    assert model.tta == {"tta": "max", "tta_window_s": 2.5, "tta_stride_s": 1.25}
    record = read_record(sorted(samples_dir.glob("*.hea"))[0])
    x, fs = model.pipeline(order_leads(record, model.leads), record.fs)
    x = torch.from_numpy(x)[None]
    spec = window_samples(model.tta, fs)
    with torch.no_grad():
        want = torch.sigmoid(sliding_window_logits(model.net, x, torch.tensor([x.shape[-1]]), spec["window"],
                                                   spec["stride"], "max"))[0].numpy()
        whole = torch.sigmoid(model.net(x))[0].numpy()
    got = Ensemble([model]).predict_record(record)
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(got, whole)  # the windows, not the whole record
