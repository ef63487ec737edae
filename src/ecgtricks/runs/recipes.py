"""Recipes: the tricks in effect, and a recipe with some of them left out (``without=``).

Every trick is one file in ``configs/trick/``; an experiment lists the tricks of its recipe.
Hydra cannot delete one entry of a defaults list, so ``without`` composes the run again with
the remaining tricks as the ``trick`` selection.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from omegaconf import DictConfig

from ecgtricks.utils.errors import ConfigError
from ecgtricks.utils.paths import config_dir


def available_tricks() -> list[str]:
    return sorted(p.stem for p in (config_dir() / "trick").glob("*.yaml"))


@functools.cache
def trick_model_keys(trick: str) -> frozenset[str]:
    """The ``model.*`` options trick ``trick`` sets (empty: it acts on data, loss, training or
    post-processing, so it applies to every network)."""
    from omegaconf import OmegaConf

    section = OmegaConf.load(config_dir() / "trick" / f"{trick}.yaml").get("model") or {}
    return frozenset(section)


def applies_to(trick: str) -> list[str]:
    """The networks whose options include everything trick ``trick`` sets."""
    from ecgtricks.models import available_models, model_options

    keys = trick_model_keys(trick)
    return [m for m in available_models() if keys <= set(model_options(m))]


def check_applicable(cfg: DictConfig) -> None:
    """Every trick in effect acts on a part the chosen network has; else one line naming the
    trick, the network and the networks it applies to."""
    from ecgtricks.models import model_options

    name = cfg.model.get("name")
    options = set(model_options(name))
    for trick in cfg.tricks:
        missing = sorted(trick_model_keys(trick) - options)
        if missing:
            raise ConfigError(
                f"trick {trick} does not apply to model={name} (it sets model.{missing[0]}, which {name} "
                f"does not have); {trick} applies to: {', '.join(applies_to(trick))}"
            )


def names(value: Any) -> list[str]:
    """Trick names from a ``without`` value: a name, a comma/space separated string or a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    return [str(v) for v in value]


def compose_without(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """The same run with the tricks named in ``without`` left out of those in effect.

    The config is composed again with the remaining tricks as the ``trick`` selection (replacing
    an experiment's list, or added with ``+trick`` when no experiment lists tricks).
    """
    from hydra import compose
    from hydra.errors import ConfigCompositionException

    drop = names(cfg.without)
    in_effect = list(cfg.tricks)
    unknown = [t for t in drop if t not in in_effect]
    if unknown:
        raise ConfigError(f"without={unknown}: not in effect; tricks in effect: {in_effect}")
    keep = ",".join(t for t in in_effect if t not in drop)
    base = [o for o in overrides if not re.match(r"^[+~]*(trick|without)=", o)]
    try:
        return compose("train", overrides=[*base, f"trick=[{keep}]"])
    except ConfigCompositionException:
        return compose("train", overrides=[*base, f"+trick=[{keep}]"])


def resolve(cfg: DictConfig, overrides: list[str], *, check: bool = True) -> DictConfig:
    """The config a run trains: trick names checked, ``without`` applied, values checked
    (:func:`ecgtricks.runs.config.check`, unless ``check=False``) -- all before any data is touched."""
    from ecgtricks.runs import config

    known = available_tricks()
    typos = [t for t in [*names(cfg.without), *cfg.tricks] if t not in known]
    if typos:
        raise ConfigError(f"unknown trick(s) {typos}; valid tricks: {known}")
    if cfg.without:
        cfg = compose_without(cfg, overrides)
    if check:
        config.check(cfg)
    return cfg
