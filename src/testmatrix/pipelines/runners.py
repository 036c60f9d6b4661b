"""Which platform a CI job runs on, told by its runner labels or agent tags.

In order: the user's `--runner LABEL=PLATFORM[:VARIANT]` mappings (LABEL a glob over
whole labels), the Buildkite queue and agent tags the workspace's platforms and
variants already declare, then the defaults below, over whole labels and over the
words of a label (`linux-mi300-gpu-1`: linux, mi300, gpu, 1). A GPU count is read
from the label that told the platform (`gpu-2`, `2gpu`, `mi300_2`, `gfx942.8`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from testmatrix.core.model import Workspace
from testmatrix.errors import UsageError

# (pattern over a label or one of its words, platform); earlier patterns win, so
# the generic `gpu` comes last: `linux-mi300-gpu-1` is AMD's
DEFAULTS: tuple[tuple[str, str], ...] = (
    ("gfx*", "rocm"),
    ("mi2[0-9][0-9]*", "rocm"),
    ("mi3[0-9][0-9]*", "rocm"),
    ("amd", "rocm"),
    ("rocm", "rocm"),
    ("nvidia", "cuda"),
    ("cuda", "cuda"),
    ("a100*", "cuda"),
    ("h100*", "cuda"),
    ("l4", "cuda"),
    ("cpu", "cpu"),
    ("gpu", "cuda"),
)
# GitHub's own runners have no GPU
HOSTED = ("ubuntu-*", "windows-*", "macos-*")
AMD_GFX = {
    "mi250": "gfx90a", "mi300": "gfx942", "mi325": "gfx942", "mi350": "gfx950",
    "mi355": "gfx950",
}  # fmt: skip
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_WORDS = re.compile(r"[-_.:/= ]+")


@dataclass(frozen=True)
class Place:
    """Where a job runs, and the label that said so."""

    platform: str
    variant: str | None
    gpus: int | None
    gfx: tuple[str, ...]
    told_by: str  # the label (or tag) that told the platform
    rule: str  # "--runner", "workspace" or "default"


@dataclass(frozen=True)
class Mapping:
    pattern: str
    platform: str
    variant: str | None


def parse_mapping(text: str) -> Mapping:
    """`LABEL=PLATFORM[:VARIANT]` from the command line."""
    label, sep, place = text.partition("=")
    platform, _, variant = place.partition(":")
    if not sep or not label.strip() or not platform:
        raise UsageError(
            f"--runner {text!r}: expected LABEL=PLATFORM or LABEL=PLATFORM:VARIANT"
        )
    for what, name in (("platform", platform), ("variant", variant)):
        if name and not NAME.match(name):
            raise UsageError(
                f"--runner {text!r}: {what} {name!r} must be lower-case letters, "
                "digits, '-' or '_'"
            )
    return Mapping(label.strip().lower(), platform, variant or None)


class Runners:
    """Labels to places, by the module's rules."""

    def __init__(
        self, mappings: Sequence[str] = (), workspace: Workspace | None = None
    ):
        self.mappings = [parse_mapping(m) for m in mappings]
        self.tags = list(_workspace_tags(workspace)) if workspace else []

    def place(self, labels: Sequence[str]) -> Place | str:
        """The place the labels tell, or why none (a line for the report)."""
        labels = [str(label) for label in labels if str(label).strip()]
        lowered = [label.lower() for label in labels]
        for mapping in self.mappings:
            for label in lowered:
                if fnmatch.fnmatchcase(label, mapping.pattern):
                    return _place(label, mapping.platform, mapping.variant, "--runner")
        for pattern, platform, variant in self.tags:
            for label in lowered:
                if pattern.fullmatch(label):
                    return _place(label, platform, variant, "workspace")
        found = _default(lowered)
        if found is not None:
            return found
        if any(fnmatch.fnmatchcase(label, h) for label in lowered for h in HOSTED):
            return Place("cpu", None, None, (), labels[0], "default")
        shown = ", ".join(repr(label) for label in labels) or "none"
        return (
            f"its runner labels ({shown}) tell no platform; pass --runner "
            "LABEL=PLATFORM[:VARIANT]"
        )


def _default(labels: list[str]) -> Place | None:
    every = [w for label in labels for w in _WORDS.split(label)]
    for pattern, platform in DEFAULTS:
        for label in labels:
            words = [label, *_WORDS.split(label)]
            if any(fnmatch.fnmatchcase(w, pattern) for w in words):
                # the first label naming this platform says it ([l4-runner, cuda])
                label = next(x for x in labels if _names(x, platform))
                words = [label, *_WORDS.split(label)]
                # the hardware may be named by another label ([l4-runner, cuda])
                variant = _variant(platform, ["", *words]) or _variant(
                    platform, ["", *every]
                )
                place = _place(label, platform, variant, "default")
                if place.gpus is None:
                    gpus = next((g for x in labels if (g := _gpus(x))), None)
                    place = replace(place, gpus=gpus)
                return place
    return None


def _names(label: str, platform: str) -> bool:
    words = [label, *_WORDS.split(label)]
    return any(
        fnmatch.fnmatchcase(w, p) for p, where in DEFAULTS if where == platform
        for w in words
    )  # fmt: skip


def _variant(platform: str, words: list[str]) -> str | None:
    """The hardware a default names: mi300, a100; a gfx target alone: itself."""
    if platform == "rocm":
        found = [w for w in words[1:] if re.fullmatch(r"mi\d{3}[a-z]*", w)]
        found = found or [w for w in words[1:] if re.fullmatch(r"gfx[0-9a-f]+", w)]
        return re.sub(r"(mi\d{3})x$", r"\1", found[0]) if found else None
    if platform == "cuda":
        found = [w for w in words[1:] if re.fullmatch(r"(a100|h100|l4)\w*", w)]
        return found[0] if found else None
    return None


def _place(label: str, platform: str, variant: str | None, rule: str) -> Place:
    gfx = tuple(dict.fromkeys(re.findall(r"gfx[0-9a-f]+", label)))
    if not gfx and variant in AMD_GFX and platform == "rocm":
        gfx = (AMD_GFX[variant],)
    return Place(platform, variant, _gpus(label), gfx, label, rule)


def _gpus(label: str) -> int | None:
    for pattern in (
        r"(\d+)[-_.]?gpus?\b",
        r"\bgpus?[-_.]?(\d+)\b",
        r"[-_.](\d+)$",
        r"(\d+)x\b",
    ):
        found = re.search(pattern, label)
        if found and 0 < int(found.group(1)) <= 64:
            return int(found.group(1))
    return None


def _workspace_tags(
    workspace: Workspace,
) -> Iterable[tuple[re.Pattern[str], str, str | None]]:
    """The queue and agent tags each platform and variant declares, as patterns
    ({gpus}: any count), variants first: they say more."""
    for platform in workspace.platforms.values():
        for variant in platform.variants.values():
            yield from _tags(variant.buildkite, platform.name, variant.name)
    for platform in workspace.platforms.values():
        yield from _tags(platform.buildkite, platform.name, None)


def _tags(
    settings: object, platform: str, variant: str | None
) -> Iterable[tuple[re.Pattern[str], str, str | None]]:
    values: list[str] = []
    queue = getattr(settings, "queue", None)
    if queue:
        values.append(str(queue))
    for key, value in (getattr(settings, "agents", None) or {}).items():
        values += [str(value), f"{key}={value}"]
    for value in values:
        parts = [re.escape(p.lower()) for p in value.split("{gpus}")]
        yield re.compile(r"\d+".join(parts)), platform, variant
