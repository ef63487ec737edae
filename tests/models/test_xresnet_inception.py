from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from ecgtricks.models import check_options, create_model, model_options
from ecgtricks.models.xresnet1d import masked_avg_pool
from ecgtricks.utils.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
NAMES = ["xresnet1d50", "xresnet1d101", "inception1d"]
# Narrow versions, to keep the tests fast; depth (layers, modules) as in the real networks.
SMALL = {
    "xresnet1d50": dict(base_width=8, head_hidden=16),
    "xresnet1d101": dict(base_width=8, head_hidden=16),
    "inception1d": dict(nb_filters=8, bottleneck=8, head_hidden=16),
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One intra-op thread: these tensors are small, and on a loaded machine more threads spin
    against each other (measured: a 200x slowdown with 2 threads on 2 busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _eval_model(name: str, **kwargs) -> torch.nn.Module:
    """In float64: equalities between differently batched evaluations then hold to 1e-9 on any
    CPU (u = 1.1e-16 times reductions of ~1e5 terms), far from a masking error."""
    torch.manual_seed(0)
    model = create_model(name, in_channels=12, num_classes=24, **{**SMALL[name], **kwargs})
    model = model.eval().double()
    for m in model.modules():  # non-trivial statistics and weights, as after training
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)  # zero-initialised gammas would hide the branches
    return model


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("se", [None, 4])
def test_padded_batches_equal_records_alone(name, se) -> None:
    model = _eval_model(name, se_reduction=se)
    x = torch.randn(3, 12, 3000, dtype=torch.float64)
    lengths = torch.tensor([3000, 2001, 777])  # odd lengths at every stride of the xresnets
    with torch.no_grad():
        batched = model.features(x, lengths)
        logits = model(x, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone = model.features(x[i : i + 1, :, :n])
            torch.testing.assert_close(batched[i : i + 1], alone, rtol=1e-9, atol=1e-9)
            torch.testing.assert_close(
                logits[i : i + 1], model(x[i : i + 1, :, :n]), rtol=1e-9, atol=1e-9
            )
        # unpadded: lengths all full is the same as no lengths; windowed is the whole record
        torch.testing.assert_close(model.features(x, torch.full((3,), 3000)), model.features(x))
        torch.testing.assert_close(model.features_windowed(x[:1], 1000), model.features(x[:1]))


def test_masked_avg_pool_matches_ceil_mode_alone() -> None:
    # The record alone's ceil-mode last window averages only its real samples; so does the mask.
    x = torch.randn(2, 3, 10, dtype=torch.float64)
    mask = (torch.arange(10)[None, :] < torch.tensor([10, 7])[:, None])[:, None, :]
    pooled = masked_avg_pool(x, mask, 2)
    alone = F.avg_pool1d(x[1:, :, :7], 2, 2, ceil_mode=True)
    assert alone.shape[-1] == 4
    torch.testing.assert_close(alone[..., -1], x[1:, :, 6], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(pooled[1:, :, :4], alone, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(pooled[:1], F.avg_pool1d(x[:1], 2, 2, ceil_mode=True))
    assert torch.all(pooled[1:, :, 4:] == 0)  # all-padding windows: 0, not NaN


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward(name) -> None:
    torch.manual_seed(0)
    model = create_model(name, in_channels=12, num_classes=24, **SMALL[name]).train()
    x = torch.randn(2, 12, 1000)
    logits = model(x, torch.tensor([1000, 601]))
    assert logits.shape == (2, 24) and model.features(x).shape == (2, model.num_features)
    logits.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_two_leads_26_classes_short_input(name) -> None:
    model = create_model(name, in_channels=2, num_classes=26, **SMALL[name]).eval()
    with torch.no_grad():
        assert model(torch.randn(3, 2, 256)).shape == (3, 26)
        assert model(torch.randn(2, 2, 300), torch.tensor([300, 256])).isfinite().all()


@pytest.mark.parametrize("name", NAMES)
def test_meta_device_build(name) -> None:
    with torch.device("meta"):
        model = create_model(name, in_channels=12, num_classes=24)
    assert all(p.is_meta for p in model.parameters())
    assert _n_params(model) == _expected_params(name)


def _conv(c_in: int, c_out: int, k: int = 1, bias: bool = False) -> int:
    return c_in * c_out * k + (c_out if bias else 0)


def _bn(c: int) -> int:
    return 2 * c


def _se(c: int, reduction: int | None) -> int:
    if not reduction:
        return 0
    h = max(1, c // reduction)
    return _conv(c, h, bias=True) + _conv(h, c, bias=True)


def _head(f: int, hidden: int, classes: int) -> int:
    return _bn(f) + _conv(f, hidden, bias=True) + _bn(hidden) + _conv(hidden, classes, bias=True)


def _expected_params(
    name: str,
    in_ch: int = 12,
    classes: int = 24,
    base_width: int = 64,
    width: float = 1.0,
    kernel_size: int = 5,
    se_reduction: int | None = None,
    head_hidden: int = 128,
    depth: int = 6,
    nb_filters: int = 32,
    bottleneck: int = 32,
    kernel_sizes=(39, 19, 9),
) -> int:
    """Parameters by formula: the benchmark's layouts, written out independently of the code."""
    if name == "inception1d":
        total, c_in, out = 0, in_ch, 4 * nb_filters
        for d in range(depth):
            total += _conv(c_in, bottleneck) + sum(
                _conv(bottleneck, nb_filters, k) for k in kernel_sizes
            )
            total += _conv(c_in, nb_filters) + _bn(out) + _se(out, se_reduction)
            if d % 3 == 0:
                total += _conv(c_in, out) + _bn(out)
            c_in = out
        return total + _head(2 * out, head_hidden, classes)
    layers = {"xresnet1d50": (3, 4, 6, 3), "xresnet1d101": (3, 4, 23, 3)}[name]
    s = base_width // 2
    total = (
        _conv(in_ch, s, 3)
        + _bn(s)
        + _conv(s, s, 3)
        + _bn(s)
        + _conv(s, base_width, 3)
        + _bn(base_width)
    )
    c_in = base_width
    for i, n in enumerate(layers):
        mid = round(base_width * width * 2**i)
        for _ in range(n):
            total += _conv(c_in, mid) + _bn(mid) + _conv(mid, mid, kernel_size) + _bn(mid)
            total += _conv(mid, 4 * mid) + _bn(4 * mid) + _se(4 * mid, se_reduction)
            total += _conv(c_in, 4 * mid) + _bn(4 * mid) if c_in != 4 * mid else 0
            c_in = 4 * mid
    return total + _head(2 * c_in, head_hidden, classes)


@pytest.mark.parametrize(
    "kwargs",
    [{}, dict(se_reduction=4), dict(width=2.0), dict(kernel_size=11), dict(head_hidden=64)],
)
@pytest.mark.parametrize("name", NAMES)
def test_parameter_counts(name, kwargs) -> None:
    if name == "inception1d" and {"width", "kernel_size"} & set(kwargs):
        with pytest.raises(ConfigError, match="unexpected keyword argument"):  # not its options
            create_model(name, in_channels=12, num_classes=24, **kwargs)
        return
    with torch.device("meta"):
        model = create_model(name, in_channels=12, num_classes=24, **kwargs)
    assert _n_params(model) == _expected_params(name, **kwargs)


def test_parameter_counts_at_defaults() -> None:
    # 12 leads, 24 classes; the benchmark publishes no counts, so: the formula, the order, and
    # the ranges of their 2-D ancestors (ResNet-50 25.6M, -101 44.5M with 3x3 kernels).
    with torch.device("meta"):
        counts = {n: _n_params(create_model(n, in_channels=12, num_classes=24)) for n in NAMES}
    print(counts)
    assert counts == {"xresnet1d50": 19_015_192, "xresnet1d101": 33_550_872, "inception1d": 510_104}
    assert all(counts[n] == _expected_params(n) for n in NAMES)
    assert counts["xresnet1d101"] > counts["xresnet1d50"] > counts["inception1d"]
    assert 15e6 < counts["xresnet1d50"] < 25e6 and 28e6 < counts["xresnet1d101"] < 45e6
    assert 3e5 < counts["inception1d"] < 1e6


@pytest.mark.parametrize("name", NAMES)
def test_se_adds_parameters(name) -> None:
    with torch.device("meta"):
        plain = _n_params(create_model(name, **SMALL[name]))
        se = _n_params(create_model(name, se_reduction=4, **SMALL[name]))
    assert se > plain


def test_options() -> None:
    for name in NAMES:
        options = model_options(name)
        assert {"se_reduction", "dropout", "head_hidden"} <= set(options)
        assert {"in_channels", "num_classes"}.isdisjoint(options)
    for name in ("xresnet1d50", "xresnet1d101"):
        assert "layers" not in model_options(name)
        assert {"kernel_size", "width", "base_width"} <= set(model_options(name))
    assert "kernel_size" not in model_options("inception1d")
    assert {"depth", "nb_filters", "bottleneck", "kernel_sizes"} <= set(
        model_options("inception1d")
    )


@pytest.mark.parametrize("name", NAMES)
def test_configs_list_every_option(name) -> None:
    model_cfg = OmegaConf.load(CONFIGS / "model" / f"{name}.yaml")
    check_options(model_cfg)
    assert set(model_cfg) - {"name"} == set(model_options(name))
    smoke = OmegaConf.merge(
        model_cfg, OmegaConf.load(CONFIGS / "debug_model" / f"smoke_{name}.yaml")
    )
    check_options(smoke)
    options = {k: v for k, v in OmegaConf.to_container(smoke).items() if k != "name"}
    with torch.no_grad():  # a 4 s smoke record at 500 Hz
        assert create_model(name, in_channels=12, num_classes=24, **options).eval()(
            torch.randn(2, 12, 2000)
        ).shape == (2, 24)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("xresnet1d50", dict(kernel_size=0), "kernel_size=0 must be odd"),
        ("xresnet1d50", dict(kernel_size=4), "kernel_size=4 must be odd"),
        ("xresnet1d101", dict(base_width=1), "base_width=1"),
        ("xresnet1d50", dict(dropout=1.0), r"dropout=1.0 must be in \[0, 1\)"),
        ("xresnet1d50", dict(se_reduction=0), "se_reduction=0"),
        ("inception1d", dict(depth=4), "depth=4 must be a positive multiple of 3"),
        ("inception1d", dict(kernel_sizes=[40, 20]), "must be odd"),
        ("inception1d", dict(kernel_size=11), "unexpected keyword"),
    ],
)
def test_bad_options_are_reported(name, kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        create_model(name, **kwargs)
