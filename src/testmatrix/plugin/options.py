"""testmatrix's pytest options: the prefixed forms always, short names only where no
other plugin owns them."""

from __future__ import annotations

import argparse
from collections.abc import Generator
from typing import Any

import pytest

from testmatrix.core import options as opt
from testmatrix.core.names import ENV_PLATFORM
from testmatrix.plugin.keys import ENV_VARIANT, SHORT_TAKEN, HooksOnly

# Option specs: the prefixed long form is always registered; the short one only
# where no other plugin owns it (see options.py).
OPTIONS: tuple[tuple[opt.Option, dict[str, Any]], ...] = (
    (
        opt.PLATFORM,
        {
            "metavar": "NAME",
            "help": "target platform whose skiplist applies (skiplists/platforms/"
            f"NAME.toml, or 'none'); default: ${ENV_PLATFORM}, else the detected "
            "hardware's",
        },
    ),
    (
        opt.VARIANT,
        {
            "metavar": "NAME",
            "help": "hardware variant of the platform whose entries apply too "
            f"(rocm: mi300); default: ${ENV_VARIANT}, else the detected one, else "
            "platform-wide only",
        },
    ),
    (
        opt.STRICT,
        {
            "action": "store_true",
            "default": None,
            "help": "refuse to run unless the detected hardware is the target's "
            "(CI steps)",
        },
    ),
    (
        opt.SUITE,
        {
            "metavar": "NAME",
            "help": "apply this suite's selection and only its file-level ignores "
            "(nox sessions pass it; default: every suite's ignores)",
        },
    ),
    (
        opt.RUN,
        {
            "type": int,
            "default": None,
            "metavar": "N",
            "help": "with --testmatrix-suite, apply the selection of the suite's run N "
            "(1-based), for a suite that is a CI job of several pytest runs",
        },
    ),
    (
        opt.NO_SKIPLIST,
        {
            "action": "store_true",
            "default": False,
            "help": "apply no skiplist entry: ignore, skip and deselect nothing "
            "(reproduces the failures)",
        },
    ),
    (
        opt.SKIPLISTS,
        {
            "metavar": "DIR",
            "help": "directory holding suites.toml and platforms/ (default: ini "
            "'skiplists', else <rootdir>/skiplists)",
        },
    ),
    (
        opt.SHARD_ID,
        {
            "type": int,
            "default": None,
            "metavar": "K",
            "help": "run only shard K (0-based)",
        },
    ),
    (
        opt.NUM_SHARDS,
        {
            "type": int,
            "default": None,
            "metavar": "N",
            "help": "split the tests "
            "into N shards (every selected test in exactly one)",
        },
    ),
    (
        opt.DURATIONS,
        {
            "metavar": "FILE",
            "help": "JSON {test id: seconds} to balance shards by time (default: by "
            "count)",
        },
    ),
    (
        opt.SUMMARY,
        {
            "metavar": "PATH",
            "help": "write a JSON summary: counts by fate, entries used, flaky "
            "tests, models, durations",
        },
    ),
)


def explicit(config: pytest.Config) -> str | None:
    """The first testmatrix option given on this command line, if any."""
    for option, spec in OPTIONS:
        if config.getoption(option.dest) not in (None, spec.get("default")):
            return option.long
    return None


def may_apply(config: pytest.Config) -> bool:
    """Whether skiplists may apply to this run (a workspace handed over, a
    testmatrix option or setting, skiplists/suites.toml at or above the rootdir):
    asked of every pytest run before any of testmatrix's configuration loads."""
    from testmatrix.config.root import find_root

    if config.hook.pytest_testmatrix_workspace.get_hookimpls():
        return True
    if config.getoption(opt.SKIPLISTS.dest) or config.getini("skiplists"):
        return True
    return explicit(config) is not None or find_root(config.rootpath) is not None


def option_names(parser: object) -> set[str] | None:
    """Every option string registered with pytest's parser so far, in any group;
    None where this pytest's parser cannot be read (then no alias is safe)."""
    groups = getattr(parser, "_groups", None)
    anonymous = getattr(parser, "_anonymous", None)
    if not isinstance(groups, list) or anonymous is None:
        return None
    try:
        return {
            name
            for group in [*groups, anonymous]
            for argument in group.options
            for name in argument.names()
        }
    except (AttributeError, TypeError):
        return None


class ShortNames(HooksOnly):
    """Registers the short aliases (--platform) of the prefixed options once every
    other plugin has registered its own options, each only where it is free: a
    name another plugin owns (pytest-shard's --shard-id) stays that plugin's.

    pytest before 9 checks clashes only within one option group, and argparse
    then fails at startup on a clash across groups; so every group's names are
    read here, whatever pytest's version."""

    def __init__(self, group: pytest.OptionGroup):
        self.group = group
        self.taken: list[str] = []
        self.added = False

    def add(self, config: pytest.Config) -> None:
        """Adds the free short names, and keeps those other plugins own in the
        config's stash (`SHORT_TAKEN`), once."""
        if self.added:
            return
        self.added = True
        registered = option_names(getattr(self.group, "parser", None))
        for option, spec in OPTIONS:
            if registered is None or option.short in registered:
                self.taken.append(option.short)  # another plugin's: keep theirs
                continue
            attrs = {**spec, "help": argparse.SUPPRESS}
            try:
                self.group.addoption(option.short, dest=option.dest, **attrs)
            except (argparse.ArgumentError, ValueError):
                self.taken.append(option.short)
        config.stash[SHORT_TAKEN] = tuple(self.taken)

    @pytest.hookimpl(wrapper=True)
    def pytest_load_initial_conftests(
        self, early_config: pytest.Config
    ) -> Generator[None, object, object]:
        # installed plugins and the initial conftests have registered their options
        # by now, and the command line is parsed in full right after
        result = yield
        self.add(early_config)
        return result


SHORT_NAMES = "testmatrix-short-names"


def registered_markers(config: pytest.Config) -> set[str]:
    return {
        line.split(":", 1)[0].split("(", 1)[0].strip()
        for line in config.getini("markers")
    }
