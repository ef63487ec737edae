"""A registry of networks by name, so configs pick an architecture with ``model.name``.

Each entry's options -- the keys its ``configs/model/NAME.yaml`` may set -- are read from the
signature of what is registered (a class, a function, or a ``functools.partial`` that fixes some
of them, as timm's variants fix depth): one list of options, in code, typed by its hints.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from ecgtricks.utils.conf import as_dict
from ecgtricks.utils.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_BUILT_BY_DATA = ("in_channels", "num_classes")  # set from the lead set and the edition, never in YAML


def register_model(fn: Callable[..., nn.Module], name: str | None = None) -> Callable[..., nn.Module]:
    """Register ``fn`` (usable as a decorator) under ``name`` or its own name."""
    _MODELS[name or fn.__name__] = fn
    return fn


def available_models() -> list[str]:
    return sorted(_MODELS)


def _target(name: str) -> tuple[Callable[..., Any], set[str]]:
    """What builds model ``name`` and the options a partial has fixed."""
    if name not in _MODELS:
        raise ConfigError(f"model.name={name!r} is unknown; available: {available_models()}")
    fn, fixed = _MODELS[name], set()
    while isinstance(fn, functools.partial):
        fixed |= set(fn.keywords)
        fn = fn.func
    return fn, fixed


def _omegaconf_type(hint: Any) -> Any:
    """The hint as OmegaConf can check it: sequences become lists."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Sequence, list, tuple) and args:
        return list[args[0]]
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _omegaconf_type(inner[0]) | None
        return Any
    return hint if hint in (int, float, str, bool) else Any


@functools.cache
def model_options(name: str) -> dict[str, Any]:
    """The options of model ``name`` -> their types (``name`` itself excluded)."""
    fn, fixed = _target(name)
    init = fn.__init__ if inspect.isclass(fn) else fn
    hints = typing.get_type_hints(init)
    return {
        p.name: _omegaconf_type(hints.get(p.name, Any))
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in (*_BUILT_BY_DATA, *fixed)
    }


def check_options(model_cfg: Any) -> None:
    """Every key of a ``model`` section is an option of its network, of the option's type."""
    from omegaconf import MISSING, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    options = dict(as_dict(model_cfg))
    name = options.pop("name", None)
    if name is None:
        raise ConfigError(f"model.name is missing; available: {available_models()}")
    known = model_options(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(f"model.{unknown[0]} is not an option of model={name}; its options: {sorted(known)}")
    schema = dataclasses.make_dataclass(f"{name}_options", [(k, t, dataclasses.field(default=MISSING)) for k, t in known.items()])
    try:
        OmegaConf.merge(OmegaConf.structured(schema), options)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"model.{exc.full_key}: {str(exc).splitlines()[0]} (model={name})") from None


def build_model(model_cfg: Any, in_channels: int, num_classes: int) -> nn.Module:
    """The network of a ``model`` config section (``name`` picks it, the rest are its options)."""
    options = dict(as_dict(model_cfg))
    return create_model(options.pop("name"), in_channels=in_channels, num_classes=num_classes, **options)


def create_model(name: str, **kwargs: Any) -> nn.Module:
    _target(name)  # unknown names: a one-line error
    try:
        return _MODELS[name](**kwargs)
    except (TypeError, ValueError) as exc:  # unknown or invalid options: a user's config error
        raise ConfigError(f"model {name!r}: {exc}") from None


def forward_flops(net: nn.Module, in_channels: int, samples: int = 2048) -> int:
    """FLOPs (multiply and add counted separately) of one forward pass of one chunk."""
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    net.eval()
    # Attention's fused eval kernels have no FLOP formula: count the plain (math) path instead.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, in_channels, samples))
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    return int(counter.get_total_flops())
