"""What the plugin's hooks share, importing nothing of testmatrix's: every run
imports this module, a run without skiplists nothing more."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from testmatrix.core.fate import Fate

# the run's plugin.state.State, typed where it is read (`State | None`): naming State
# here would make state and keys import each other
STATE: pytest.StashKey[Any] = pytest.StashKey()


FATE: pytest.StashKey[Fate] = pytest.StashKey()


MODELS_SET = pytest.StashKey[bool]()


PROPERTIES_SET = pytest.StashKey[bool]()  # the fate is in the test's report


PREVIOUS_ENV = pytest.StashKey[dict[str, "str | None"]]()


# the short option names other plugins own here (options.ShortNames found them)
SHORT_TAKEN = pytest.StashKey[tuple[str, ...]]()


ENV_STRICT = "TESTMATRIX_STRICT_PLATFORM"


ENV_VARIANT = "TESTMATRIX_VARIANT"


PROPERTY = "testmatrix_"  # the prefix of the properties a test's report carries


WORKER_OUTPUT = "testmatrix"  # xdist: what a worker hands the controller


# what happened to an expected failure (plugin.expect), in the report's
# user_properties (they reach xdist's controller and the JUnit file); here, so the
# summary counts them without importing expect
EXPECTATION = "testmatrix_expectation"
AS_EXPECTED, STALE, DIFFERENT = "expected-fail", "stale", "fails-differently"


def hook_names(names: Iterable[str]) -> list[str]:
    """What a plugin we register answers dir() with: its hooks alone. pluggy reads a
    plugin's names with dir() to register it, and pytest again to look for fixtures
    when the session starts (about 40 K instructions a name); a module's imports and
    submodules, or an object's other attributes, are nothing to either."""
    return [name for name in names if name.startswith("pytest_")]


class HooksOnly:
    """A plugin object whose dir() is its hooks alone (`hook_names`)."""

    __slots__ = ()

    def __dir__(self) -> list[str]:
        return hook_names(dir(type(self)))
