"""The pytest options reference, from the plugin's own `pytest_addoption`: it is called
with a parser that records what it registers (command-line options and ini keys), so
the page lists exactly what `pytest --help` shows under testmatrix.

The plugin is found by its entry-point module, `testmatrix.plugin`, a published name.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from refpages.text import code, prose, table

PLUGIN_MODULE = "testmatrix.plugin"
PREFIX = "--testmatrix-"  # the prefixed form that always exists; the alias drops it

INTRO = """\
# pytest options

What the testmatrix plugin adds to pytest, generated from its `pytest_addoption`
(`{module}`), so it lists exactly what `pytest --help` shows for testmatrix. The
[plain pytest guide](../pytest.md) shows them at work.

Every option has a prefixed form, `--testmatrix-NAME`, that always exists; sessions,
Buildkite steps, `testmatrix argv`, audit and explain pass that form. Its short alias,
`--NAME`, is registered only where no other installed plugin owns the name (vLLM's test
image installs pytest-shard, which owns `--shard-id` and `--num-shards`); the pytest
header says when an alias is taken.
"""


@dataclass
class Group:
    """An option group as `parser.getgroup` hands it out."""

    name: str
    description: str = ""
    options: list[tuple[tuple[str, ...], dict[str, Any]]] = field(default_factory=list)

    def addoption(self, *names: str, **attrs: Any) -> None:
        self.options.append((names, attrs))

    _addoption = addoption


@dataclass
class Recorder:
    """Stands in for pytest's parser: keeps what the plugin registers."""

    groups: dict[str, Group] = field(default_factory=dict)
    ini: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def getgroup(self, name: str, description: str = "", after: Any = None) -> Group:
        group = self.groups.setdefault(name, Group(name, description))
        group.description = group.description or description
        return group

    def addoption(self, *names: str, **attrs: Any) -> None:
        self.getgroup("general").addoption(*names, **attrs)

    def addini(self, name: str, help: str, **attrs: Any) -> None:
        self.ini.append((name, help, attrs))


class PluginManager:
    """What the hook may ask of pytest's plugin manager while it registers options."""

    def register(self, plugin: object, name: str | None = None) -> None:
        pass  # the plugin's helpers for later hooks: nothing to document

    def get_plugin(self, name: str) -> object | None:
        return None  # no pytest config here: the hook registers its helper


def page() -> tuple[str, list[str]]:
    """The page, and every option or ini key that has no help text."""
    plugin = importlib.import_module(PLUGIN_MODULE)
    recorder = Recorder()
    hook = plugin.pytest_addoption
    offered = {"parser": recorder, "pluginmanager": PluginManager()}
    wanted = inspect.signature(hook).parameters
    hook(**{name: value for name, value in offered.items() if name in wanted})
    missing: list[str] = []
    groups = list(recorder.groups.values())
    lines = [INTRO.format(module=PLUGIN_MODULE)]
    for group in groups:
        lines += _options(group, missing)
    lines += _ini(recorder.ini, missing)
    return "\n".join(lines) + "\n", missing


def _options(group: Group, missing: list[str]) -> list[str]:
    rows = []
    for names, attrs in group.options:
        help_text = attrs.get("help")
        if help_text == argparse.SUPPRESS:
            continue
        if not help_text:
            missing.append(f"no help text: pytest {names[0]}")
        aliases = [n[:2] + n[len(PREFIX) :] for n in names if n.startswith(PREFIX)]
        rows.append(
            [
                ", ".join(code(n) for n in names),
                ", ".join(code(a) for a in aliases),
                _value(attrs),
                prose(help_text or ""),
            ]
        )
    if not rows:
        return []
    header = ["option", "alias (where free)", "value", "what it does"]
    about = [prose(group.description), ""] if group.description else []
    return ["## Command-line options", "", *about, *table(header, rows), ""]


def _value(attrs: dict[str, Any]) -> str:
    if attrs.get("action") in ("store_true", "store_false"):
        return "flag"
    kind = attrs.get("type")
    shown = attrs.get("metavar") or (kind.__name__ if kind else "VALUE")
    return code(str(shown))


def _ini(ini: list[tuple[str, str, dict[str, Any]]], missing: list[str]) -> list[str]:
    if not ini:
        return []
    rows = []
    for name, help_text, attrs in ini:
        if not help_text:
            missing.append(f"no help text: pytest ini {name}")
        default = attrs.get("default")
        rows.append(
            [
                code(name),
                code(str(attrs.get("type") or "string")),
                "" if default is None or default == "" else code(_ini_value(default)),
                prose(help_text or ""),
            ]
        )
    return [
        "## Ini keys",
        "",
        "In the `[pytest]` section of `pytest.ini` (or `[tool.pytest.ini_options]`).",
        "",
        *table(["key", "type", "default", "what it does"], rows),
        "",
    ]


def _ini_value(value: Any) -> str:
    """A default as the ini file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
