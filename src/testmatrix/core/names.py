"""The names of things: suites, platforms, variants, targets and sessions, their tags
and descriptions. Written once: the model, the session listing (`nox -l`), the plan
and the nox sessions use these functions, so they cannot disagree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

# the target platform a run simulates (the plugin sets it; code under test reads it)
ENV_PLATFORM = "TESTMATRIX_PLATFORM"

SKIPLIST_DIR = "skiplists"


# names of suites, platforms and variants: `NAME_PATTERN`, compiled when first
# imported or read (`__getattr__`); every pytest run imports this module, and
# only reading or listing a workspace's TOML matches names (0.3 M instructions)
_NAME = r"^[a-z0-9][a-z0-9_-]*$"


def __getattr__(name: str) -> re.Pattern[str]:
    if name != "NAME_PATTERN":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    pattern = globals()["NAME_PATTERN"] = re.compile(_NAME)
    return pattern


# the hardware a platform can need
HARDWARE = ("rocm", "cuda", "none")


RESERVED_PLATFORMS = frozenset({"none", "all"})


def session_name(platform: str, suite: str, variant: str | None = None) -> str:
    """`rocm-pooling` (platform-wide entries only) or `rocm-mi300-pooling`; the loader
    refuses declarations whose names would collide."""
    if variant is None:
        return f"{platform}-{suite}"
    return f"{platform}-{variant}-{suite}"


def target_name(platform: str, variant: str | None) -> str:
    """'rocm' or 'rocm:mi300': how suites' `platforms` and messages name a target."""
    return platform if variant is None else f"{platform}:{variant}"


def suite_runs_on(
    places: Sequence[str] | None, platform: str, variant: str | None
) -> bool:
    """Whether a suite whose `platforms` are `places` has a session on the platform
    (variant None) or variant: everywhere unless it names platforms (with all their
    variants) or variants."""
    if places is None:
        return True
    return platform in places or (
        variant is not None and target_name(platform, variant) in places
    )


def session_keys(
    targets: Iterable[tuple[str, str | None]],
    suites: Sequence[tuple[str, Sequence[str] | None]],
) -> Iterator[tuple[str, str | None, str]]:
    """(platform, variant, suite) of every session in declaration order: each suite
    (name, places) on each target (platform, variant) it runs on."""
    for platform, variant in targets:
        for suite, places in suites:
            if suite_runs_on(places, platform, variant):
                yield platform, variant, suite


def session_tags(platform: str, suite: str, variant: str | None) -> list[str]:
    """-t rocm: every rocm session, variants' too; -t rocm-mi300: that variant's."""
    if variant is None:
        return [platform, suite]
    return [platform, f"{platform}-{variant}", suite]


def session_doc(platform: str, suite: str, variant: str | None, on: str) -> str:
    """The session's docstring (`nox -l` shows it); `on`: the target's description."""
    return f"Run suite {suite} as {target_name(platform, variant)} CI does: {on}."


def platform_description(name: str, given: str | None) -> str:
    return given or f"{name} platform"


def variant_description(platform: str, name: str, given: str | None) -> str:
    return given or f"{platform} {name}"
