"""The signal augmentations and CutMix: off is the batch untouched, each changes what it says
(frequency band, scale, time, span), records not chosen and padding stay as they were, draws
repeat under the same seed, and training (never validation) applies them through their tricks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from ecgtricks.training import augment
from ecgtricks.training.augment import augment_signals
from ecgtricks.training.mixup import cutmix

FS = 100.0
AUGMENTATIONS = ["baseline_wander", "noise", "amplitude_scale", "time_stretch", "time_mask", "cutmix"]


def _batch(n: int = 8, samples: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(samples) / FS
    x = torch.sin(2 * np.pi * 5 * t)[None, None] * (1 + torch.rand(n, 12, 1, generator=g))
    lengths = torch.full((n,), samples)
    lengths[-1] = samples // 2
    x[-1, :, samples // 2 :] = 0
    return x, lengths


def _spectrum(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    power = np.abs(np.fft.rfft(x.numpy(), axis=-1)) ** 2
    return np.fft.rfftfreq(x.shape[-1], 1 / FS), power


def test_every_setting_off_returns_the_batch_itself() -> None:
    x, lengths = _batch()
    assert augment_signals(x, lengths, {"p": 1.0, **dict.fromkeys(augment.SETTINGS, 0.0)}, FS) is x


@pytest.mark.parametrize("name", augment.SETTINGS)
def test_records_not_chosen_and_padding_stay_as_they_were(name: str) -> None:
    x, lengths = _batch()
    torch.manual_seed(3)
    out = augment_signals(x, lengths, {"p": 0.5, name: 0.3}, FS)
    changed = (out != x).flatten(1).any(dim=1)
    assert 0 < int(changed.sum()) < len(x)  # p = 0.5 of 8 records, this seed
    assert torch.equal(out[~changed], x[~changed])
    assert torch.all(out[-1, :, 500:] == 0)  # the short record's padding
    torch.manual_seed(3)
    assert torch.equal(augment_signals(x, lengths, {"p": 0.5, name: 0.3}, FS), out)  # same seed, same draws


def test_baseline_wander_is_below_half_a_hertz_and_bounded() -> None:
    x = torch.zeros(4, 12, 3000)
    torch.manual_seed(0)
    wander = augment.baseline_wander(x, FS, 0.2)
    freqs, power = _spectrum(wander)
    assert power[..., freqs > 1.0].sum() < 0.01 * power.sum()
    assert float(wander.abs().max()) <= 0.2 + 1e-6


def test_noise_holds_power_line_and_high_frequencies() -> None:
    x = torch.zeros(64, 1, 2000)
    torch.manual_seed(0)
    power = np.abs(np.fft.rfft(augment.noise(x, 250.0, 0.1).numpy(), axis=-1)) ** 2  # 250 Hz: 50/60 Hz below Nyquist
    freqs = np.fft.rfftfreq(2000, 1 / 250.0)
    mean = power.mean(axis=(0, 1))
    line = mean[(np.abs(freqs - 50) < 0.5) | (np.abs(freqs - 60) < 0.5)].max()
    assert line > 20 * np.median(mean)  # a spectral line at 50 or 60 Hz
    assert mean[freqs > 80].mean() > mean[(freqs > 5) & (freqs < 30)].mean()  # muscle: high frequencies


def test_amplitude_scale_multiplies_each_lead_by_a_factor_in_range() -> None:
    x = torch.ones(16, 12, 100)
    torch.manual_seed(0)
    out = augment.amplitude_scale(x, 0.2)
    factors = out[..., 0]
    assert torch.all((factors >= 0.8) & (factors <= 1.2)) and torch.equal(out, factors[..., None].expand_as(out))
    assert factors.std() > 0.05  # per record and lead, not one factor


def test_time_stretch_changes_a_sinusoids_frequency_by_its_factor() -> None:
    t = torch.arange(4000) / FS
    x = torch.sin(2 * np.pi * 2.0 * t)[None, None].repeat(32, 1, 1)
    torch.manual_seed(0)
    out = augment.time_stretch(x, 0.1)
    freqs, power = _spectrum(out[..., :2000])
    peaks = freqs[power[:, 0].argmax(axis=-1)]
    assert np.all((peaks >= 2.0 / 1.1 - 0.05) & (peaks <= 2.0 / 0.9 + 0.05)) and np.ptp(peaks) > 0.1


def test_time_mask_zeroes_one_span_no_longer_than_its_share() -> None:
    x = torch.ones(64, 12, 1000)
    torch.manual_seed(0)
    out = augment.time_mask(x, 0.1)
    zeros = (out[:, 0] == 0).numpy()
    for row in zeros:
        idx = np.flatnonzero(row)
        assert len(idx) <= 100 and (len(idx) == 0 or idx[-1] - idx[0] + 1 == len(idx))  # one span
    assert torch.equal(out[:, :1].expand_as(out), out)  # the same span on every lead
    assert zeros.sum(axis=1).max() > 50


def test_cutmix_pastes_a_partners_span_and_mixes_labels_by_its_share() -> None:
    x = torch.arange(8, dtype=torch.float32)[:, None, None].expand(8, 12, 500).clone()  # record i holds i
    y = torch.eye(8)
    torch.manual_seed(1)
    mixed, targets = cutmix(x, y, alpha=1.0)
    width = int((mixed[:, 0] != x[:, 0]).sum(dim=1).max())
    for i in range(8):
        row = mixed[i, 0]
        partner = int(row[row != i][0]) if (row != i).any() else i
        share = float((row == partner).sum()) / 500 if partner != i else 0.0
        if partner != i:
            assert targets[i, partner] == pytest.approx(share) and targets[i, i] == pytest.approx(1 - share)
    assert 0 < width < 500


def test_mixing_tricks_are_exclusive_in_one_line(compose: Any) -> None:
    from ecgtricks.runs.config import check
    from ecgtricks.utils.errors import ConfigError

    check(compose("+trick=cutmix"))
    with pytest.raises(ConfigError, match="manifold_mixup and cutmix each set augment.mixup"):
        check(compose("experiment=dsail2020", "+trick=cutmix"))
    with pytest.raises(ConfigError, match="augment.time_mask=1.5 must be in"):
        check(compose("augment.time_mask=1.5"))


def test_validation_never_augments(compose: Any) -> None:
    from ecgtricks.training.fit import build_module

    module = build_module(compose("debug=smoke", "+trick=noise"), [1] * 24, fs=FS).eval()
    x, lengths = _batch()
    with torch.no_grad():
        torch.testing.assert_close(module(x, lengths), module.net(x, lengths), rtol=0, atol=0)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["baseline", "dsail2020"])
def test_one_epoch_with_every_augmentation(experiment: str, compose: Any, tmp_path: Path) -> None:
    from ecgtricks.runs import rundir
    from ecgtricks.runs.recipes import resolve
    from ecgtricks.training.fit import fit

    tricks = [t for t in AUGMENTATIONS if not (experiment == "dsail2020" and t == "cutmix")]
    overrides = [f"experiment={experiment}", f"+trick=[{','.join(tricks)}]"]
    cfg = compose(*overrides, "debug=smoke", "data.n_records=64", "data.limit=64")
    assert all(cfg.augment[t] > 0 for t in augment.SETTINGS)
    summary = fit(rundir.bind(resolve(cfg, overrides), tmp_path / "fold0"), overrides)
    assert summary["epochs"] == 1 and -1.0 <= summary["challenge_score"] <= 1.0
