"""Where configs and caches live, for editable installs and built wheels alike."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # ecgtricks/, above utils/


def config_dir() -> Path:
    """The Hydra config directory.

    A wheel carries the configs inside the package (``ecgtricks/configs``, force-included at
    build time); an editable install reads the repository's top-level ``configs/``.
    """
    packaged = _PACKAGE_DIR / "configs"
    if packaged.is_dir():
        return packaged
    repo = _PACKAGE_DIR.parent.parent / "configs"
    if repo.is_dir():
        return repo
    raise FileNotFoundError(f"no Hydra configs found in {packaged} or {repo}")


def default_cache_root() -> Path:
    """Root for generated datasets and preprocessed caches (``$ECGTRICKS_CACHE`` overrides)."""
    env = os.environ.get("ECGTRICKS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ecgtricks"
