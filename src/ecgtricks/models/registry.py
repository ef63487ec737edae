"""A registry of networks by name, so configs pick an architecture with ``model.name``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ecgtricks.utils.conf import as_dict
from ecgtricks.utils.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    _MODELS[fn.__name__] = fn
    return fn


def available_models() -> list[str]:
    return sorted(_MODELS)


def build_model(model_cfg: Any, in_channels: int, num_classes: int) -> nn.Module:
    """The network of a ``model`` config section (``name`` picks it, the rest are its options)."""
    options = dict(as_dict(model_cfg))
    return create_model(options.pop("name"), in_channels=in_channels, num_classes=num_classes, **options)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    if name not in _MODELS:
        raise ConfigError(f"model.name={name!r} is unknown; available: {available_models()}")
    try:
        return _MODELS[name](**kwargs)
    except (TypeError, ValueError) as exc:  # unknown or invalid options: a user's config error
        raise ConfigError(f"model {name!r}: {exc}") from None


def forward_flops(net: nn.Module, in_channels: int, samples: int = 2048) -> int:
    """FLOPs (multiply and add counted separately) of one forward pass of one chunk."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    net.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, in_channels, samples))
    return int(counter.get_total_flops())
