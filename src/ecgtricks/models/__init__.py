"""Networks, built by name from the registry; each module below registers its own."""

from ecgtricks.models import attention as _attention  # noqa: F401
from ecgtricks.models import inception1d as _inception1d  # noqa: F401
from ecgtricks.models import resnet1d as _resnet1d  # noqa: F401  (registers its models)
from ecgtricks.models import xresnet1d as _xresnet1d  # noqa: F401
from ecgtricks.models.registry import (
    available_models,
    build_model,
    check_options,
    create_model,
    forward_flops,
    model_options,
    register_model,
)

__all__ = ["available_models", "build_model", "check_options", "create_model", "forward_flops", "model_options",
           "register_model"]
