"""Networks, built by name from the registry."""

from ecgtricks.models import resnet1d as _resnet1d  # noqa: F401  (registers its models)
from ecgtricks.models.registry import (
    available_models,
    build_model,
    create_model,
    forward_flops,
    register_model,
)

__all__ = ["available_models", "build_model", "create_model", "forward_flops", "register_model"]
