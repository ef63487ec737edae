from __future__ import annotations

import pytest
import torch

from ecgtricks.errors import ConfigError
from ecgtricks.models import available_models, create_model

DSAIL = dict(width=2, kernel_size=11, stride=4, shortcut="pool", dropout=0.3)


def _eval_model(**kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_model("resnet1d", **kwargs).eval()
    for m in model.modules():  # non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def test_parameter_counts() -> None:
    # The paper's final network: 3,370,968 parameters for 12 leads and 24 classes.
    assert sum(p.numel() for p in create_model("resnet1d", **DSAIL).parameters()) == 3_370_968
    assert sum(p.numel() for p in create_model("resnet1d").parameters()) == 245_496


def test_init_follows_the_paper() -> None:
    model = create_model("resnet1d", **DSAIL)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d)]
    assert all(c.bias is None for c in convs)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)
    std = convs[-1].weight.std().item()
    fan_in = convs[-1].weight[0].numel()
    assert abs(std - (2 / fan_in) ** 0.5) < 0.1 * (2 / fan_in) ** 0.5  # Kaiming normal


@pytest.mark.parametrize("kwargs", [{}, DSAIL])
def test_padded_batches_equal_records_alone(kwargs) -> None:
    model = _eval_model(**kwargs)
    x = torch.randn(3, 12, 5000)
    lengths = torch.tensor([5000, 3001, 777])
    with torch.no_grad():
        batched = model(x, lengths)
        for i, n in enumerate(lengths.tolist()):
            alone = model(x[i : i + 1, :, :n])
            torch.testing.assert_close(batched[i : i + 1], alone, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs", [{}, DSAIL])
def test_windowed_features_equal_whole_record(kwargs) -> None:
    model = _eval_model(**kwargs)
    x = torch.randn(1, 12, 60_017)
    with torch.no_grad():
        whole = model.features(x)
        windowed = model.features_windowed(x, 7_000)
    torch.testing.assert_close(windowed, whole, rtol=1e-4, atol=1e-4)


def test_registry() -> None:
    assert "resnet1d" in available_models()
    with pytest.raises(ConfigError, match="unknown"):
        create_model("nope")
    with pytest.raises(ConfigError, match="unexpected keyword"):
        create_model("resnet1d", depth=3)
