"""The attention backbones: exact masking, gradients, shapes, sizes and options."""

from __future__ import annotations

import pytest
import torch

from ecgtricks.models import create_model, forward_flops, model_options
from ecgtricks.utils.errors import ConfigError

# Small options per network (seconds on a CPU), each exercising its masked parts: SE and
# meanmax pooling in the front-end; for the ResNet, the paper's stride, kernel and pool
# shortcut, and split attention (its own masked averages) under the attention.
SMALL = {
    "conv_transformer": [
        dict(d_model=32, nhead=4, num_layers=2, dim_feedforward=64),
        dict(d_model=32, nhead=4, num_layers=2, dim_feedforward=64, se_reduction=4, pool="meanmax", conv_stride=3),
    ],
    "resnet1d_mha": [
        dict(base_width=8, layers=[1, 1, 1, 1], num_heads=4),
        dict(base_width=8, layers=[1, 1, 1, 1], num_heads=2, kernel_size=11, stride=4, shortcut="pool",
             block="resnest", se_reduction=4, dropout=0.3, attn_dropout=0.1),
    ],
}
CASES = [(name, opts) for name, options in SMALL.items() for opts in options]


def _eval_model(name: str, **kwargs) -> torch.nn.Module:
    """In float64: a padded batch then equals the records alone to 1e-9 on any CPU, since the
    rounding differences (u = 1.1e-16 per operation, times reductions of at most ~1e4 terms:
    convolutions, attention's softmax sums, pooling) stay near 1e-12, far from a masking error."""
    torch.manual_seed(0)
    model = create_model(name, **kwargs).eval().double()
    for m in model.modules():  # non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])  # torch's fused fast path or not
@pytest.mark.parametrize(("name", "opts"), CASES)
def test_padded_batches_equal_records_alone(name, opts, grad) -> None:
    model = _eval_model(name, **opts)
    x = torch.randn(3, 12, 3000, dtype=torch.float64)
    lengths = torch.tensor([3000, 2001, 777])
    with torch.set_grad_enabled(grad):
        batched = model.features(x, lengths)
        assert torch.isfinite(batched).all()
        for i, n in enumerate(lengths.tolist()):
            alone = model.features(x[i : i + 1, :, :n])
            torch.testing.assert_close(batched[i : i + 1], alone, rtol=1e-9, atol=1e-9)
        # no padding at all: the lengths change nothing
        torch.testing.assert_close(model(x[:, :, :777], torch.full((3,), 777)), model(x[:, :, :777]))
    # the whole record, exact: features_windowed is features
    torch.testing.assert_close(model.features_windowed(x[:1], 1000), model.features(x[:1]).detach())


@pytest.mark.parametrize(("name", "opts"), CASES)
def test_forward_backward(name, opts) -> None:
    torch.manual_seed(0)
    model = create_model(name, **opts).train()
    x = torch.randn(2, 12, 1000)
    logits = model(x, torch.tensor([1000, 600]))
    assert logits.shape == (2, 24) and model.features(x).shape == (2, model.num_features)
    assert model.head.in_features == model.num_features
    logits.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(("name", "opts"), CASES)
def test_two_leads_26_classes_any_length(name, opts) -> None:
    model = create_model(name, in_channels=2, num_classes=26, **opts).eval()
    with torch.no_grad():
        for n in (256, 257, 2048):  # fixed-length crops and chunks, no lengths
            out = model(torch.randn(3, 2, n))
            assert out.shape == (3, 26) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", list(SMALL))
def test_meta_device_build(name) -> None:
    with torch.device("meta"):
        model = create_model(name)  # default size: shapes only, nothing filled
    assert all(p.is_meta for p in model.parameters())
    assert model.head.weight.shape == (24, model.num_features)


def _transformer_params(d: int, ff: int, layers: int) -> int:
    """Pre-norm encoder layers (attention with in/out projections, feed-forward, two
    LayerNorms), plus the final LayerNorm."""
    attention = 4 * d * d + 4 * d
    feedforward = d * ff + ff + ff * d + d
    return layers * (attention + feedforward + 2 * 2 * d) + 2 * d


def test_default_parameter_counts() -> None:
    # conv_transformer: front-end 12 -> 32 -> 64 -> 128 -> 256 (kernel 15, no bias, BN), the
    # encoder (d_model 256, ff 1024, 8 layers), a linear head on the 256 mean-pooled features.
    channels = [12, 32, 64, 128, 256]
    frontend = sum(c_in * c_out * 15 + 2 * c_out for c_in, c_out in zip(channels[:-1], channels[1:], strict=True))
    expected = {
        "conv_transformer": frontend + _transformer_params(256, 1024, 8) + 256 * 24 + 24,
        # resnet1d_mha: the baseline ResNet1d (245,496) + attention over 128 channels + LayerNorm
        "resnet1d_mha": 245_496 + 4 * 128 * 128 + 4 * 128 + 2 * 128,
    }
    for name, count in expected.items():
        model = create_model(name, in_channels=12, num_classes=24)
        n = sum(p.numel() for p in model.parameters())
        print(f"{name}: {n:,} parameters, {forward_flops(model, 12, 2048):,} FLOPs (forward_flops, 2048 samples)")
        assert n == count
    assert expected == {"conv_transformer": 6_976_600, "resnet1d_mha": 311_800}


def test_model_options() -> None:
    resnet, mha = model_options("resnet1d"), model_options("resnet1d_mha")
    assert mha == {**resnet, "num_heads": int, "attn_dropout": float}
    transformer = model_options("conv_transformer")
    assert {"se_reduction", "dropout", "conv_kernel_size", "d_model", "nhead", "num_layers"} <= set(transformer)
    assert "kernel_size" not in transformer  # large_kernel (3 -> 11) does not apply to a 15-wide front-end
    assert transformer["conv_kernel_size"] is int and transformer["dropout"] is float
    assert "in_channels" not in transformer and "num_classes" not in mha


@pytest.mark.parametrize(
    ("name", "opts", "message"),
    [
        ("conv_transformer", dict(d_model=30, nhead=4), "not divisible by nhead=4"),
        ("conv_transformer", dict(conv_kernel_size=14), "must be odd"),
        ("conv_transformer", dict(pool="attention"), "pool="),
        ("resnet1d_mha", dict(num_heads=3), "128 channels are not divisible by num_heads=3"),
        ("resnet1d_mha", dict(radix=2), "radix does not apply"),  # ResNet1d's own checks still apply
    ],
)
def test_bad_options(name, opts, message) -> None:
    with pytest.raises(ConfigError, match=message):  # ValueError, as a config error via the registry
        create_model(name, **opts)
    cls = type(create_model(name, d_model=32, nhead=4) if name == "conv_transformer" else create_model(name))
    with pytest.raises(ValueError, match=message):
        cls(**opts)
