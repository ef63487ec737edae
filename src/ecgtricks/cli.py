"""What every command line entry point shares: logging and one-line user errors."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf import OmegaConf

from ecgtricks.errors import ECGTricksError

F = TypeVar("F", bound=Callable[..., Any])


def register_resolvers() -> None:
    """Resolvers the configs use; must run before Hydra composes (on import of the CLIs)."""
    if not OmegaConf.has_resolver("ecg_variant"):
        from ecgtricks.rundir import variant_name

        OmegaConf.register_new_resolver("ecg_variant", variant_name)


register_resolvers()


def user_errors(fn: F) -> F:
    """Report the project's own errors as one line on stderr and exit 2, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ECGTricksError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    return wrapper  # type: ignore[return-value]


def setup_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format="[%(asctime)s %(levelname)s] %(message)s", datefmt="%H:%M:%S")
