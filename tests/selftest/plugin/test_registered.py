"""What testmatrix registers with pytest shows its hooks alone to dir(), which pluggy
registers a plugin by and pytest scans for fixtures, and pytest registers every one."""

from __future__ import annotations

import types

import pytest

import testmatrix.plugin as plugin
from testmatrix.plugin import expect, hooks
from testmatrix.plugin.options import ShortNames
from testmatrix.plugin.sharder import Sharder


def _defined(obj: object) -> set[str]:
    names = vars(obj) if isinstance(obj, types.ModuleType) else vars(type(obj))
    return {name for name in names if name.startswith("pytest_")}


@pytest.mark.parametrize(
    "obj",
    [plugin, expect, ShortNames(group=None), object.__new__(Sharder)],
    ids=["plugin", "expect", "short-names", "sharder"],
)
def test_pytest_registers_every_hook_and_dir_shows_no_other_name(obj):
    manager = pytest.PytestPluginManager()
    manager.register(obj, "under-test")
    registered = {
        impl.function.__name__
        for caller in manager.get_hookcallers(obj) or []
        for impl in caller.get_hookimpls()
        if impl.plugin is obj
    }
    assert registered == _defined(obj) != set()
    assert set(dir(obj)) == registered


def test_the_plugin_module_registers_every_hook_of_hooks():
    assert _defined(plugin) == {n for n in vars(hooks) if n.startswith("pytest_")}
