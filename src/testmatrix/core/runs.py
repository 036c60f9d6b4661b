"""A suite as one session runs it: one of its pytest runs, with the overrides of the
session's platform and variant applied, and its globs expanded as the shell would.

A suite that is a CI job has several runs (`[[suites.NAME.runs]]`); each is its own
pytest process with its own selection, and all of them run, in order, whatever an
earlier one gave: the session fails if any run failed. A suite without `runs` is one
run. Overrides (`[suites.NAME.on.rocm]`, `on."rocm:mi300"`) apply platform first,
then variant: -m, -k and arguments replace the suite's, env is merged over it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from testmatrix.core.model import (
    Override,
    Platform,
    Suite,
    Workspace,
    frozen_map,
    is_glob,
)
from testmatrix.errors import UsageError


def run_part(suite: Suite, run: int | None) -> Suite:
    """Run `run` (1-based) of the suite; a suite of one run is its own run 1."""
    if run is None:
        if len(suite.runs) > 1:
            raise UsageError(
                f"suite {suite.name} has {len(suite.runs)} runs: name one "
                "(--testmatrix-run N) or run them all (session_commands)"
            )
        return suite.parts[0]
    if not 1 <= run <= len(suite.parts):
        count = len(suite.parts)
        raise UsageError(
            f"suite {suite.name} has {count} run{'s' * (count != 1)}, not run {run}"
        )
    return suite.parts[run - 1]


def overrides_for(
    suite: Suite, platform: str | None, variant: str | None
) -> tuple[Override, ...]:
    """The overrides that hold on a target: the platform's, then the variant's."""
    if platform is None:
        return ()
    found = [o for o in suite.overrides if o.target == platform]
    if variant is not None:
        found += [o for o in suite.overrides if o.target == f"{platform}:{variant}"]
    return tuple(found)


def on_target(suite: Suite, platform: str | None, variant: str | None) -> Suite:
    """The suite (or run) with the target's overrides applied."""
    held = overrides_for(suite, platform, variant)
    if not held:
        return suite
    env = dict(suite.env)
    markexpr, keyword, args = suite.markexpr, suite.keyword, suite.args
    for override in held:
        env.update(override.env)
        markexpr = override.markexpr if override.markexpr is not None else markexpr
        keyword = override.keyword if override.keyword is not None else keyword
        args = override.args if override.args is not None else args
    return replace(
        suite, env=frozen_map(env), markexpr=markexpr, keyword=keyword, args=args
    )


def suite_view(
    suite: Suite, platform: str | None, variant: str | None, run: int | None
) -> Suite:
    """What one session's pytest process runs of the suite: a run, on a target."""
    return on_target(run_part(suite, run), platform, variant)


def named_view(
    workspace: Workspace,
    suite: str | None,
    platform: Platform | None,
    variant: str | None,
    run: int | None,
) -> Suite | None:
    """`suite_view` of a suite by name (None: no suite)."""
    if suite is None:
        return None
    name = platform.name if platform else None
    return suite_view(workspace.suites[suite], name, variant, run)


def expand(root: Path, path: str) -> list[str]:
    """A suite path as the shell gives it to pytest: a glob's matches, sorted (bash
    sorts them; a glob matching nothing stays as written, as bash leaves it);
    another path as it is."""
    file, sep, rest = path.partition("::")
    if not is_glob(file):
        return [path]
    first = next(i for i, p in enumerate(file.split("/")) if is_glob(p))
    found = sorted(
        rel + sep + rest
        for match in root.glob(file)
        if not any(
            part.startswith(".") for part in match.relative_to(root).parts[first:]
        )  # the shell's * skips hidden names
        for rel in [match.relative_to(root).as_posix()]
    )
    return found or [path]
