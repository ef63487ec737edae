"""Config sections as plain Python: the one way a section leaves OmegaConf."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf


def as_dict(node: Any) -> Any:
    """A config section as plain Python (interpolations resolved, enums as their values);
    anything else is returned as it is."""
    if not isinstance(node, DictConfig | ListConfig):
        return node
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True)
