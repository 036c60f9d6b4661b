"""The pytest plugin: applies a platform's skiplist to a plain pytest run.

Installed, it loads wherever pytest runs (the `pytest11` entry point
`testmatrix.plugin`); without an installed package, load it from the root conftest.py
with `pytest_plugins = ["testmatrix.plugin"]`. In a project without skiplists/ it
does nothing and says nothing.

This module is what pytest registers, and all it holds is the hooks' names
(`plugin.hooks` has them) and the finder that loads the rest: pytest loads a plugin's
module through its assertion-rewriting loader, which reads cached code object by
object, so the module stays small and what it imports is loaded by Python's own
loader (`OwnModules`, here rather than in a module of its own, which pytest's loader
would read too: 0.6 M instructions).
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType


class OwnModules:
    """A finder, first on `sys.meta_path`, for testmatrix's modules only: they load
    through Python's own path finder and loader, not pytest's.

    pytest rewrites the asserts of every module of a plugin's package (of its whole
    distribution, when installed) and loads each from its own cache with
    `marshal.load` on an open file, which reads object by object: about 2 M
    instructions a module, a fifth of what the plugin added to a one-test run. Our
    modules hold no test's assertions. This finder answers for `testmatrix.*` before
    pytest's hook is asked, for every import from the moment the plugin loads (the
    imports functions make when first called included), and passes every other name
    on. Only `testmatrix` and `testmatrix.plugin`, imported before it is in place, go
    through pytest's loader."""

    @staticmethod
    def find_spec(
        name: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if not name.startswith("testmatrix."):
            return None
        return PathFinder.find_spec(name, path, target)


def install() -> None:
    """Put OwnModules first on `sys.meta_path`, once (an in-process pytest run, as
    pytester's, puts its own hook first again: the finder moves back ahead of it)."""
    if sys.meta_path and isinstance(sys.meta_path[0], OwnModules):
        return
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, OwnModules)]
    sys.meta_path.insert(0, OwnModules())


install()  # before anything else of ours is imported

from testmatrix.plugin.hooks import (  # noqa: E402  # after install(), on purpose
    pytest_addhooks,
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_ignore_collect,
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_runtest_setup,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_unconfigure,
)
from testmatrix.plugin.keys import hook_names  # noqa: E402

__all__ = [
    "pytest_addhooks",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_ignore_collect",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_terminal_summary",
    "pytest_unconfigure",
]


def __dir__() -> list[str]:
    """The hooks alone (`keys.hook_names`): the submodules imported by the time
    pytest scans this module are nothing to it."""
    return hook_names(globals())
