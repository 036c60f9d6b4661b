"""The pytest plugin: applies a platform's skiplist to a plain pytest run.

Installed, it loads wherever pytest runs (the `pytest11` entry point
`testmatrix.plugin`); without an installed package, load it from the root conftest.py
with `pytest_plugins = ["testmatrix.plugin"]`. In a project without skiplists/ it
does nothing and says nothing.

This module is what pytest registers, and all it holds is the hooks' names
(`plugin.hooks` has them): pytest loads a plugin's module through its
assertion-rewriting loader, which reads cached code object by object, so the module
stays small and what it imports is loaded by Python's own loader (`unrewritten`).
"""

from __future__ import annotations

from testmatrix.plugin.unrewritten import install

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
