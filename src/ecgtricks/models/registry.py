"""A registry of networks by name, so configs pick an architecture with ``model.name``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ecgtricks.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    _MODELS[fn.__name__] = fn
    return fn


def available_models() -> list[str]:
    return sorted(_MODELS)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    if name not in _MODELS:
        raise ConfigError(f"model.name={name!r} is unknown; available: {available_models()}")
    try:
        return _MODELS[name](**kwargs)
    except (TypeError, ValueError) as exc:  # unknown or invalid options: a user's config error
        raise ConfigError(f"model {name!r}: {exc}") from None
