"""testmatrix's modules imported past pytest's assertion-rewriting loader."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder
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
    on. Only `testmatrix`, `testmatrix.plugin` and this module, imported before it
    is in place, go through pytest's loader."""

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
