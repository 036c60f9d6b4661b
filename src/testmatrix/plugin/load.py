"""The run's workspace and target, read from options, ini and environment: the State the
hooks act on."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testmatrix.config import loader as _config
from testmatrix.core import options as opt
from testmatrix.core.model import Platform, Variant, Workspace
from testmatrix.core.rules import Rules
from testmatrix.core.runs import run_part
from testmatrix.core.targets import (
    ENV_PLATFORM,
    hardware_mismatch,
    target_platform,
    target_variant,
)
from testmatrix.errors import TestmatrixError, UsageError
from testmatrix.plugin.keys import SHORT_TAKEN
from testmatrix.plugin.options import explicit, registered_markers
from testmatrix.plugin.state import ENV_STRICT, ENV_VARIANT, State

if TYPE_CHECKING:
    from testmatrix.core.facts import Detection


def _detect() -> Detection:
    """The hardware probes' answer; their module loads only where one is asked for
    (a named platform without variants asks none, unless --strict-platform)."""
    from testmatrix.system.detect import detect

    return detect()


def _workspace(config: pytest.Config) -> Workspace | None:
    """The workspace whose skiplists apply; None in a project without skiplists/,
    where the plugin does nothing (unless a testmatrix option asks for them)."""
    handed = config.hook.pytest_testmatrix_workspace(config=config)
    if handed is not None:
        return handed
    option = config.getoption(opt.SKIPLISTS.dest) or config.getini("skiplists")
    if not option:
        root = _config.find_root(config.rootpath)
        if root is None:
            asked = explicit(config)
            if asked is None:
                return None
            raise TestmatrixError(
                f"{asked} needs skiplists, but there is no "
                f"{_config.SKIPLIST_DIR}/suites.toml in {config.rootpath} or above "
                f"it; pass {opt.SKIPLISTS.long}=DIR"
            )
        return _config.load_workspace(root)
    directory = Path(option)
    if not directory.is_absolute():
        given = config.getoption(opt.SKIPLISTS.dest)
        directory = (Path.cwd() if given else config.rootpath) / directory
    return _config.load_workspace(skiplist_dir=directory)


def _variant(
    config: pytest.Config,
    platform: Platform | None,
    detection: Callable[[], Detection],
) -> Variant | None:
    """The variant asked for, else the detected one (asking the probes only where
    the platform has variants to tell apart)."""
    requested = config.getoption(opt.VARIANT.dest) or os.environ.get(ENV_VARIANT)
    if requested or platform is None or not platform.variants:
        return target_variant(platform, requested, "", ())
    found = detection()
    return target_variant(platform, requested, found.hardware, found.models)


def load_state(config: pytest.Config) -> State | None:
    workspace = _workspace(config)
    if workspace is None:
        return None
    # the markers skip entries name are registered here: --strict-markers accepts
    # them, and a marker no test carries is a lint finding, not a failed run
    registered = registered_markers(config)
    for plat in workspace.platforms.values():
        for entry in plat.skips:
            if entry.marker not in registered:
                registered.add(entry.marker)
                config.addinivalue_line(
                    "markers",
                    f"{entry.marker}: named by testmatrix skip entries "
                    f"({entry.location})",
                )
    # the probes run only where an answer needs them (a named platform without
    # variants does not; the report header and the summary ask later, if at all)
    detection = functools.cache(_detect)
    requested = config.getoption(opt.PLATFORM.dest) or os.environ.get(ENV_PLATFORM)
    platform = target_platform(
        workspace, requested, "" if requested else detection().hardware
    )
    variant = _variant(config, platform, detection)
    strict = bool(
        config.getoption(opt.STRICT.dest)
        or config.getini("strict_platform")
        or os.environ.get(ENV_STRICT) == "1"
    )
    if strict:
        found = detection()
        refusal = hardware_mismatch(
            platform, variant, found.hardware, found.models, found.describe()
        )
        if refusal:
            raise TestmatrixError(refusal)
    suite = config.getoption(opt.SUITE.dest)
    run = config.getoption(opt.RUN.dest)
    if suite is not None:
        from testmatrix.core.session import suite_named

        run_part(suite_named(workspace, suite), run)  # a suite of runs needs one
    elif run is not None:
        raise UsageError(f"{opt.RUN.long} names a run of {opt.SUITE.long}: give both")
    apply = not config.getoption(opt.NO_SKIPLIST.dest)
    rules = Rules(
        workspace,
        platform,
        variant=variant.name if variant else None,
        apply=apply,
        suite=suite,
        run=run,
    )
    state = State(workspace, rules, detection, strict)
    _shard(config, state)
    for option, what in ((opt.SUMMARY.dest, "summary"), ("xmlpath", "JUnit report")):
        written = config.getoption(option, None)
        if written:  # found now, not after the tests ran
            from testmatrix.results.reports import check_writable

            check_writable(Path(written), what)
    state.short_names_taken = config.stash.get(SHORT_TAKEN, ())
    return state


def _shard(config: pytest.Config, state: State) -> None:
    """The shard this run keeps and the durations that balance the shards, if
    asked for (testmatrix.plugin.shard is imported only then)."""
    num = config.getoption(opt.NUM_SHARDS.dest)
    shard_id = config.getoption(opt.SHARD_ID.dest)
    durations = config.getoption(opt.DURATIONS.dest)
    if num is None and shard_id is None and not durations:
        return
    from testmatrix.plugin import shard

    if num is not None or shard_id is not None:
        if num is None or shard_id is None:
            raise TestmatrixError(
                f"{opt.NUM_SHARDS.long} and {opt.SHARD_ID.long} go together: give "
                "both (shard K of N, 0-based)"
            )
        shard.check(shard_id, num)
        state.shard = (shard_id, num)
    if durations:
        state.durations = shard.load_durations(Path(durations))
