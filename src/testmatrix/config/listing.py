"""What names and describes the nox sessions, read without loading the workspace.

`nox -l` shows session names, tags and docstrings. They come from the platform file
names, each platform's [platform] and [variants.NAME] tables, and the suite names and
`platforms` of suites.toml, never from the entries ([[ignore]], [[skip]], ...) that
make up nearly all of a skiplist. This module reads just those, with the standard
library only, so `nox -l` costs about what a hand-written noxfile does:

  warm  a listing from the cache (`cache`: plain JSON under a hash of every skiplist
        file, the loading code and Python's version); written whenever a listing or
        a full load succeeded
  cold  suites.toml, and from each platform file only its [platform] and [variants]
        tables: the scan of `tomlpos` finds the table headers (strings, comments and
        arrays read whole, so a header-like line inside a value is never taken for
        one) and tomllib parses just those tables

It validates nothing itself: it returns a listing only where the input is plainly
well formed (the tables and keys `schema` declares, read from the JSON Schemas made
from it; names the model accepts, values of the kinds it reads, references that
resolve, no colliding names) and None on any doubt, and then the caller loads the
workspace in full, which says what is wrong. What it does not read (paths, settings'
values, entries, even their TOML syntax) is checked when a session runs. Where the
whole workspace loads, its listing is this one.

The naming rules themselves live in `core.names`, once: the plan, the loader and
the nox sessions use them too, so the listing and the plan cannot disagree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from testmatrix.config import cache
from testmatrix.config.cache import read_files as read_files
from testmatrix.config.root import find_root as find_root
from testmatrix.core.names import (
    HARDWARE,
    NAME_PATTERN,
    RESERVED_PLATFORMS,
    platform_description,
    session_doc,
    session_keys,
    session_name,
    session_tags,
    variant_description,
)

if TYPE_CHECKING:
    from testmatrix.core.model import Workspace


class Listed:
    """One session as `nox -l` shows it, and what it runs: a suite on a target."""

    __slots__ = ("doc", "name", "on", "platform", "suite", "tags", "variant")

    def __init__(self, platform: str, variant: str | None, suite: str, on: str):
        self.platform, self.variant, self.suite, self.on = platform, variant, suite, on
        self.name = session_name(platform, suite, variant)
        self.tags = session_tags(platform, suite, variant)
        self.doc = session_doc(platform, suite, variant, on)

    def row(self) -> list[str | None]:
        return [self.platform, self.variant, self.suite, self.on]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Listed) and self.row() == other.row()

    def __repr__(self) -> str:
        return f"Listed({self.name!r}, tags={self.tags!r}, doc={self.doc!r})"


def _listing(
    targets: Sequence[tuple[str, str | None, str]],
    suites: Sequence[tuple[str, Sequence[str] | None]],
) -> list[Listed] | None:
    """The sessions of targets (platform, variant, description) and suites; None
    where two would share a name (the loader says which)."""
    on = {(p, v): d for p, v, d in targets}
    out = [
        Listed(p, v, s, on[p, v])
        for p, v, s in session_keys([(p, v) for p, v, _ in targets], suites)
    ]
    if len({listed.name for listed in out}) != len(out):
        return None
    return out


def from_workspace(workspace: Workspace) -> list[Listed]:
    """The sessions of a loaded (validated) workspace."""
    targets = [
        (t.platform.name, t.variant_name, (t.variant or t.platform).description)
        for t in workspace.targets()
    ]
    suites = [(s.name, s.runs_on) for s in workspace.suites.values()]
    return _listing(targets, suites) or []  # the loader refused collisions


def _decoded(body: str) -> list[Listed] | None:
    try:
        rows = json.loads(body)
        out = []
        for platform, variant, suite, on in rows:
            if not all(isinstance(v, str) for v in (platform, suite, on)):
                return None
            if variant is not None and not isinstance(variant, str):
                return None
            out.append(Listed(platform, variant, suite, on))
        return out
    except (ValueError, TypeError):  # not the rows this module writes
        return None


def store(skiplist_dir: Path, stamp: str, listing: list[Listed]) -> None:
    """Cache a listing under the stamp of the files it was made from."""
    rows = json.dumps([listed.row() for listed in listing])
    cache.put(skiplist_dir, "sessions", stamp, rows)


def store_for(workspace: Workspace, files: dict[str, bytes] | None) -> None:
    """Cache the listing of a workspace just loaded from `files`."""
    stamp = cache.stamp(workspace.skiplist_dir, files)
    store(workspace.skiplist_dir, stamp, from_workspace(workspace))


def listing(skiplist_dir: Path) -> list[Listed] | None:
    """The sessions of the skiplists in `skiplist_dir` (cached, else read from the
    tables that name them), or None where a full load must decide."""
    files = read_files(skiplist_dir)
    if files is None:
        return None
    stamp = cache.stamp(skiplist_dir, files)
    body = cache.get(skiplist_dir, "sessions", stamp)
    found = _decoded(body) if body is not None else None
    if found is not None:
        return found
    listed = read_listing(skiplist_dir, files)
    if listed is not None:
        store(skiplist_dir, stamp, listed)
    return listed


class Declared(NamedTuple):
    """The tables and keys the schema declares for what a listing reads."""

    suites_file: frozenset[str]
    suite: frozenset[str]
    platform_file: frozenset[str]
    platform: frozenset[str]
    variant: frozenset[str]


def declared() -> Declared | None:
    """The declarations' tables and keys, read from the JSON Schemas made from them
    (schemafiles; a test holds the shipped files equal to the declarations): a cold
    `nox -l` parses two small JSON files instead of importing the validator. None
    where they cannot be read (the caller loads the workspace in full)."""
    folder = Path(__file__).parents[1] / "schemas"
    try:
        suites = json.loads((folder / "suites.schema.json").read_bytes())
        platform = json.loads((folder / "platform.schema.json").read_bytes())
        tables = suites["properties"], platform["properties"]
        return Declared(
            frozenset(tables[0]),
            frozenset(tables[0]["suites"]["additionalProperties"]["properties"]),
            frozenset(tables[1]),
            frozenset(tables[1]["platform"]["properties"]),
            frozenset(tables[1]["variants"]["additionalProperties"]["properties"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_listing(skiplist_dir: Path, files: dict[str, bytes]) -> list[Listed] | None:
    """The listing from the files' text, or None where anything is in doubt."""
    keys = declared()
    platform_dir = os.path.join(skiplist_dir, "platforms")
    suites_file = _toml(files.get(os.path.join(skiplist_dir, "suites.toml")))
    suites = _suites(suites_file, keys) if keys is not None else None
    if suites is None or keys is None:
        return None
    try:
        names = sorted(os.listdir(platform_dir))
    except OSError:
        return None
    targets: list[tuple[str, str | None, str]] = []
    variants: dict[str, set[str]] = {}
    for file in names:
        if not file.endswith(".toml"):
            continue
        name = file[: -len(".toml")]
        data = files.get(os.path.join(platform_dir, file))
        if data is None or not NAME_PATTERN.fullmatch(name):
            return None  # a directory, or a name the loader refuses
        if name in RESERVED_PLATFORMS:
            return None
        head = _platform(name, data, keys)
        if head is None:
            return None
        targets += head
        variants[name] = {v for _, v, _ in head if v is not None}
    if not targets or not _places_resolve(suites, variants):
        return None
    return _listing(targets, suites)


def _toml(data: bytes | None) -> Any:
    from testmatrix.config import tomlpos

    if data is None:
        return None
    try:
        return tomlpos.parse(data.decode("utf-8"))
    except Exception:  # not UTF-8, not TOML: the loader names the line
        return None


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _suites(data: Any, keys: Declared) -> list[tuple[str, Sequence[str] | None]] | None:
    """suites.toml's (suite, places) in order, or None."""
    if not isinstance(data, dict) or not set(data) <= keys.suites_file:
        return None
    suites = data.get("suites")
    if not isinstance(data.get("workspace", {}), dict) or not isinstance(suites, dict):
        return None
    out: list[tuple[str, Sequence[str] | None]] = []
    for name, table in suites.items():
        if not NAME_PATTERN.fullmatch(name) or not isinstance(table, dict):
            return None
        if not set(table) <= keys.suite or ("path" in table) == ("paths" in table):
            return None
        if "description" in table and not _text(table["description"]):
            return None
        places = table.get("platforms")
        if ("platforms_reason" in table) != (places is not None):
            return None
        if places is not None:
            if not isinstance(places, list) or not places:
                return None
            if not all(isinstance(p, str) for p in places):
                return None
            if not _text(table["platforms_reason"]):
                return None
            places = tuple(places)
        out.append((name, places))
    return out or None


def _places_resolve(
    suites: list[tuple[str, Sequence[str] | None]], variants: dict[str, set[str]]
) -> bool:
    """Every place a suite names is a declared platform or variant, once."""
    for _, places in suites:
        places = places or ()
        for index, place in enumerate(places):
            platform, colon, variant = place.partition(":")
            if platform not in variants or place in places[:index]:
                return False
            if colon and (variant not in variants[platform] or platform in places):
                return False
    return True


def _platform(
    name: str, data: bytes, keys: Declared
) -> list[tuple[str, str | None, str]] | None:
    """The platform's targets (platform, variant, description), or None."""
    from testmatrix.config import tomlpos

    tables = keys.platform_file
    try:
        text = tomlpos.head_text(data.decode("utf-8"), ("platform", "variants"), tables)
        parsed = tomlpos.parse(text)
    except Exception:  # not UTF-8, not TOML, or the scan is unsure: the loader says
        return None
    if not set(parsed) <= set(tables):
        return None
    head = parsed.get("platform", {})
    variants = parsed.get("variants", {})
    if not isinstance(head, dict) or not isinstance(variants, dict):
        return None
    if not _head_ok(head, keys.platform):
        return None
    if "hardware" in head and head["hardware"] not in HARDWARE:
        return None
    if not isinstance(head.get("visible_devices_env", ""), str):
        return None
    out: list[tuple[str, str | None, str]] = [
        (name, None, platform_description(name, head.get("description")))
    ]
    for vname, table in variants.items():
        if not NAME_PATTERN.fullmatch(vname) or not isinstance(table, dict):
            return None
        if not _head_ok(table, keys.variant):
            return None
        match = table.get("match", [])
        if not isinstance(match, list) or not all(isinstance(m, str) for m in match):
            return None
        description = variant_description(name, vname, table.get("description"))
        out.append((name, vname, description))
    return out


def _head_ok(table: dict, keys: frozenset[str]) -> bool:
    if not set(table) <= keys:
        return False
    if "description" in table and not _text(table["description"]):
        return False
    return all(isinstance(table.get(k, {}), dict) for k in ("buildkite", "github"))
