from __future__ import annotations

import pytest
import torch

from ecgtricks.models import available_models, create_model
from ecgtricks.models.blocks import GlobalAvgPool
from ecgtricks.models.resnet1d import ResNet1d
from ecgtricks.utils.errors import ConfigError

DSAIL = dict(width=2, kernel_size=11, stride=4, shortcut="pool", dropout=0.3)
# Each architecture option alone on the baseline, and two combinations with the paper's
# stride, kernel, pool shortcut and dropout (narrower, to keep the tests fast).
OPTIONS = [
    {},
    dict(se_reduction=4),
    dict(groups=4),
    dict(block="bottleneck"),
    dict(block="resnest"),
    dict(kernel_size=11, stride=4, shortcut="pool", dropout=0.3, block="resnest", se_reduction=4, groups=2),
    dict(kernel_size=11, stride=4, shortcut="pool", dropout=0.3, block="bottleneck", se_reduction=4, groups=4),
]


def _eval_model(**kwargs) -> torch.nn.Module:
    """In float64: equalities between differently batched or windowed evaluations then hold to
    1e-9 on any CPU (u = 1.1e-16 times reductions of ~1e5 terms), far from a masking error."""
    torch.manual_seed(0)
    model = create_model("resnet1d", **kwargs).eval().double()
    for m in model.modules():  # non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def test_parameter_counts() -> None:
    # The paper's final network: 3,370,968 parameters for 12 leads and 24 classes.
    assert sum(p.numel() for p in create_model("resnet1d", **DSAIL).parameters()) == 3_370_968
    assert sum(p.numel() for p in create_model("resnet1d").parameters()) == 245_496


def _expected_params(
    block: str = "basic", se_reduction: int | None = None, groups: int = 1, radix: int = 2,
    expansion: int = 4, in_ch: int = 12, classes: int = 24, k: int = 3,
) -> int:
    """Parameters of the baseline layout (4 x 2 blocks, channels 16-16-32-64-128, conv shortcuts)."""
    def conv(c_in, c_out, size=k, g=1, bias=False):
        return c_in * c_out * size // g + (c_out if bias else 0)

    def bn(c):
        return 2 * c

    def se(c):
        if not se_reduction:
            return 0
        h = c // se_reduction
        return conv(c, h, 1, bias=True) + conv(h, c, 1, bias=True)

    def split_attention(c_in, c):
        h = -(-max(c * radix // 4, 8) // groups) * groups
        return (conv(c_in, c * radix, k, radix * groups) + bn(c * radix)
                + conv(c, h, 1, groups, bias=True) + conv(h, c * radix, 1, groups, bias=True))

    total, c_in = conv(in_ch, 16), 16
    for c, stride in [(16, 2), (16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), (128, 1)]:
        c_out = c * expansion if block == "bottleneck" else c
        if block == "bottleneck":
            total += bn(c_in) + conv(c_in, c, 1) + bn(c) + conv(c, c, k, groups) + bn(c) + conv(c, c_out, 1)
        else:
            first = split_attention(c_in, c) if block == "resnest" else conv(c_in, c, k, groups)
            total += bn(c_in) + first + bn(c) + conv(c, c, k, groups)
        total += se(c_out) + (conv(c_in, c_out, 1) if (stride != 1 or c_in != c_out) else 0)
        c_in = c_out
    return total + bn(c_in) + conv(c_in, classes, 1, bias=True)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, 245_496),
        (dict(se_reduction=4), 267_856),
        (dict(block="bottleneck"), 626_680),
        (dict(groups=8), None),
        (dict(block="resnest"), None),
        (dict(block="bottleneck", groups=4, se_reduction=4), None),
        (dict(block="resnest", groups=4, radix=4, se_reduction=8), None),
    ],
)
def test_parameter_counts_of_options(kwargs, expected) -> None:
    model = create_model("resnet1d", **kwargs)
    formula = _expected_params(**kwargs)
    assert sum(p.numel() for p in model.parameters()) == formula
    assert expected is None or formula == expected
    assert model.head.in_features == model.num_features == 128 * (4 if kwargs.get("block") == "bottleneck" else 1)


def test_init_follows_the_paper() -> None:
    model = create_model("resnet1d", **DSAIL)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert all(c.bias is None for c in convs)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)
    std = convs[-1].weight.std().item()
    fan_in = convs[-1].weight[0].numel()
    assert abs(std - (2 / fan_in) ** 0.5) < 0.1 * (2 / fan_in) ** 0.5  # Kaiming normal


@pytest.mark.parametrize("kwargs", [DSAIL, *OPTIONS])
def test_padded_batches_equal_records_alone(kwargs) -> None:
    model = _eval_model(**kwargs)
    x = torch.randn(3, 12, 3000, dtype=torch.float64)
    lengths = torch.tensor([3000, 2001, 777])
    with torch.no_grad():
        batched = model(x, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone = model(x[i : i + 1, :, :n])
            torch.testing.assert_close(batched[i : i + 1], alone, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kwargs", [DSAIL, *OPTIONS])
def test_windowed_features_equal_whole_record(kwargs) -> None:
    model = _eval_model(**kwargs)
    # three windows or more: at the start, in the middle, at the end of the record
    x = torch.randn(1, 12, 20_017, dtype=torch.float64)
    window = 7_000 if model.stride == 4 else 4_000
    with torch.no_grad():
        whole = model.features(x)
        windowed = model.features_windowed(x, window)
    torch.testing.assert_close(windowed, whole, rtol=1e-9, atol=1e-9)
    # global averages (SE, split attention) are left unfixed afterwards
    assert all(m.fixed is None for m in model.modules() if isinstance(m, GlobalAvgPool))


@pytest.mark.parametrize("kwargs", OPTIONS)
def test_forward_backward(kwargs) -> None:
    torch.manual_seed(0)
    model = create_model("resnet1d", **kwargs).train()
    x = torch.randn(2, 12, 1000)
    logits = model(x, torch.tensor([1000, 600]))
    assert logits.shape == (2, 24) and model.features(x).shape == (2, model.num_features)
    logits.square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_bad_groups_are_reported() -> None:
    with pytest.raises(ValueError, match="16 channels are not divisible by groups=3"):
        ResNet1d(groups=3)
    with pytest.raises(ValueError, match=r"split-attention.*16 channels are not divisible by groups=32"):
        ResNet1d(block="resnest", radix=4, groups=8)
    with pytest.raises(ConfigError, match="groups=3"):  # a user error when built from a config
        create_model("resnet1d", groups=3)


def test_registry() -> None:
    assert "resnet1d" in available_models()
    with pytest.raises(ConfigError, match="unknown"):
        create_model("nope")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        create_model("resnet1d", depth=3)
    # Block-specific options on another block are an error, not silently ignored.
    with pytest.raises(ConfigError, match="radix does not apply to block='basic'"):
        create_model("resnet1d", radix=2)
    with pytest.raises(ConfigError, match="expansion does not apply to block='resnest'"):
        create_model("resnet1d", block="resnest", expansion=4)
