"""The kinds of values many keys share: text, names, paths, links, variable names,
markers and places."""

from __future__ import annotations

from typing import Any

from testmatrix.config.kinds import Pattern, Text
from testmatrix.core.names import NAME_PATTERN

TEXT = Text()
NAME = Pattern(
    NAME_PATTERN.pattern,
    "a name (lower-case letters, digits, '-' or '_')",
    "names (lower-case letters, digits, '-' or '_')",
)
RELATIVE_PATH = Pattern(r"^[^/~\s].*$", "a relative path", "relative paths")
LINK = Pattern(r"^https?://\S+$", "a link (http:// or https://)", "links")
# a variable a lease may set to the GPUs it hands out: a device-visibility one
# (CUDA_, HIP_, ROCR_, ASCEND_RT_VISIBLE_DEVICES, TPU_VISIBLE_CHIPS, ...), never one
# that means something else (PATH, LD_PRELOAD)
DEVICES_ENV = Pattern(
    r"^[A-Z][A-Z0-9_]*_VISIBLE_[A-Z0-9_]+$",
    "a device-visibility variable (upper case, with _VISIBLE_ in it, like "
    "CUDA_VISIBLE_DEVICES)",
    "device-visibility variables",
    message="{subject} must name a device-visibility variable (upper case, with "
    "_VISIBLE_ in it, like CUDA_VISIBLE_DEVICES or HIP_VISIBLE_DEVICES), got {value}: "
    "a session sets it to the GPUs it leases",
)
ENV_NAME = Pattern(
    r"^[A-Za-z_][A-Za-z0-9_]*$",
    "an environment variable name (letters, digits and '_', not starting with a digit)",
    "environment variable names",
)
MARKER = Pattern(
    r"^[A-Za-z_][A-Za-z0-9_]*$",
    "a pytest marker name",
    "pytest marker names",
    message="marker {value} is not a valid pytest marker name",
)
PLACE = Pattern(
    r"^[a-z0-9][a-z0-9_-]*(:[a-z0-9][a-z0-9_-]*)?$",
    "a platform ('rocm') or a variant ('rocm:mi355')",
    "platforms ('rocm') or variants ('rocm:mi355')",
)


def model_default(cls: Any, name: str) -> Any:
    """A model field's default, so a default is written once, in the model."""
    return cls.__dataclass_fields__[name].default
