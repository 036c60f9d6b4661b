"""What names and describes the nox sessions, read without loading the workspace.

`nox -l` shows session names, tags and docstrings. They come from the platform file
names, each platform's [platform] and [variants.NAME] tables, and the suite names and
`platforms` of suites.toml, never from the entries ([[ignore]], [[skip]], ...) that
make up nearly all of a skiplist. This module reads just those, with the standard
library only, so `nox -l` costs about what a hand-written noxfile does:

  warm  a listing cached (JSON, skiplists/__pycache__) under a hash of every skiplist
        file, this module's source and Python's version; written whenever a listing
        or a full load succeeded
  cold  suites.toml, and from each platform file only its [platform] and [variants]
        tables: a scan finds the table headers (skipping strings, comments and arrays,
        so a header-like line inside a value is never taken for one) and tomllib
        parses just those tables

It validates nothing itself: it returns a listing only where the input is plainly
well formed (known tables and keys, names the model accepts, values of the kinds
it reads, references that resolve, no colliding names) and None on any doubt, and
then the caller loads the workspace in full, which says what is wrong. What it does
not read (paths, settings' values, entries, even their TOML syntax) is checked when a
session runs. Where the whole workspace loads, its listing is this one.

The naming rules themselves live here, once: plan, config and the nox sessions use
these functions, so the listing and the plan cannot disagree.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Workspace

SKIPLIST_DIR = "skiplists"
# names of suites, platforms and variants; the hardware a platform can need
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
HARDWARE = ("rocm", "cuda", "none")
RESERVED_PLATFORMS = frozenset({"none", "all"})

# The tables and keys schema declares for what a listing reads (a test holds them
# equal): anything else makes the listing unsure, and the full loader reports it.
SUITES_FILE_TABLES = frozenset({"workspace", "suites"})
SUITE_KEYS = frozenset(
    {
        "path",
        "paths",
        "description",
        "exclude",
        "exclude_reason",
        "markexpr",
        "keyword",
        "env",
        "args",
        "gpus",
        "platforms",
        "platforms_reason",
        "reruns",
        "reruns_delay",
        "durations",
        "buildkite",
        "github",
    }
)
PLATFORM_FILE_TABLES = frozenset(
    {"platform", "variants", "ignore", "skip", "deselect", "flaky"}
)
PLATFORM_KEYS = frozenset(
    {"description", "hardware", "visible_devices_env", "buildkite", "github"}
)
VARIANT_KEYS = frozenset({"description", "match", "buildkite", "github"})
_HEAD_TABLES = ("platform", "variants")  # what a listing reads of a platform file


# -- the naming rules ------------------------------------------------------------------


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


# -- where the skiplists are -----------------------------------------------------------


def find_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` with skiplists/suites.toml, if any."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / SKIPLIST_DIR / "suites.toml").is_file():
            return directory
    return None


def read_files(skiplist_dir: Path) -> dict[str, bytes] | None:
    """Every skiplist file (*.toml under the directory) by path, in a fixed order;
    None where one cannot be read."""
    files: dict[str, bytes] = {}
    try:
        for dirpath, dirs, names in os.walk(skiplist_dir):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(".toml"):
                    path = os.path.join(dirpath, name)
                    with open(path, "rb") as handle:
                        files[path] = handle.read()
    except OSError:
        return None
    return files


def files_digest(files: dict[str, bytes]) -> hashlib._Hash:
    """A hash of every skiplist file's path and content (a copy: update it)."""
    digest = hashlib.sha256()
    for path, data in files.items():
        digest.update(path.encode() + b"\0" + data + b"\0")
    return digest


# -- the cached listing ----------------------------------------------------------------


def _own_source() -> bytes:
    with open(__file__, "rb") as handle:
        return handle.read()


def cache_key(files: dict[str, bytes]) -> str | None:
    """What a cached listing must have been made from: the skiplist files, this
    module's source and Python's version (None: no source to hash, no cache)."""
    try:
        own = _own_source()
    except OSError:
        return None
    digest = files_digest(files)
    digest.update(own + b"\0" + str(sys.version_info[:2]).encode())
    return digest.hexdigest()


def _cache_file(skiplist_dir: Path) -> Path:
    # one file for every working directory: a listing names nothing relative to it,
    # so nox runs from two directories share the file instead of evicting each other
    return skiplist_dir / "__pycache__" / "testmatrix-sessions.json"


def _use_cache() -> bool:
    return not os.environ.get("TESTMATRIX_NO_CACHE")


def cached(skiplist_dir: Path, key: str) -> list[Listed] | None:
    """The listing cached under `key`, if that is the one there."""
    try:
        with open(_cache_file(skiplist_dir), encoding="utf-8") as handle:
            data = json.load(handle)
        if data["key"] != key:
            return None
        out = []
        for platform, variant, suite, on in data["sessions"]:
            if not all(isinstance(v, str) for v in (platform, suite, on)):
                return None
            if variant is not None and not isinstance(variant, str):
                return None
            out.append(Listed(platform, variant, suite, on))
        return out
    except Exception:  # absent, unreadable or not ours: list afresh
        return None


def store(skiplist_dir: Path, key: str | None, listing: list[Listed]) -> None:
    """Cache a listing under the key of the files it was made from."""
    if key is None or not _use_cache():
        return
    target = _cache_file(skiplist_dir)
    data = {"key": key, "sessions": [listed.row() for listed in listing]}
    try:
        target.parent.mkdir(exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, target)
    except OSError:  # a read-only checkout goes without the cache
        pass


def store_for(workspace: Workspace, files: dict[str, bytes] | None) -> None:
    """Cache the listing of a workspace just loaded from `files`."""
    if files is not None:
        store(workspace.skiplist_dir, cache_key(files), from_workspace(workspace))


def listing(skiplist_dir: Path) -> list[Listed] | None:
    """The sessions of the skiplists in `skiplist_dir` (cached, else read from the
    tables that name them), or None where a full load must decide."""
    files = read_files(skiplist_dir)
    if files is None:
        return None
    key = cache_key(files) if _use_cache() else None
    if key is not None:
        found = cached(skiplist_dir, key)
        if found is not None:
            return found
    listed = read_listing(skiplist_dir, files)
    if listed is not None:
        store(skiplist_dir, key, listed)
    return listed


# -- reading the tables that name sessions ---------------------------------------------


def read_listing(skiplist_dir: Path, files: dict[str, bytes]) -> list[Listed] | None:
    """The listing from the files' text, or None where anything is in doubt."""
    platform_dir = os.path.join(skiplist_dir, "platforms")
    suites = _suites(_toml(files.get(os.path.join(skiplist_dir, "suites.toml"))))
    if suites is None:
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
        head = _platform(name, data)
        if head is None:
            return None
        targets += head
        variants[name] = {v for _, v, _ in head if v is not None}
    if not targets or not _places_resolve(suites, variants):
        return None
    return _listing(targets, suites)


def _loads(text: str) -> dict[str, Any]:
    # imported here: a cached listing parses nothing
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]
    return tomllib.loads(text)


def _toml(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return _loads(data.decode("utf-8"))
    except Exception:  # not UTF-8, not TOML: the loader names the line
        return None


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _suites(data: Any) -> list[tuple[str, Sequence[str] | None]] | None:
    """suites.toml's (suite, places) in order, or None."""
    if not isinstance(data, dict) or not set(data) <= SUITES_FILE_TABLES:
        return None
    suites = data.get("suites")
    if not isinstance(data.get("workspace", {}), dict) or not isinstance(suites, dict):
        return None
    out: list[tuple[str, Sequence[str] | None]] = []
    for name, table in suites.items():
        if not NAME_PATTERN.fullmatch(name) or not isinstance(table, dict):
            return None
        if not set(table) <= SUITE_KEYS or ("path" in table) == ("paths" in table):
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


def _platform(name: str, data: bytes) -> list[tuple[str, str | None, str]] | None:
    """The platform's targets (platform, variant, description), or None."""
    try:
        parsed = _loads(head_text(data.decode("utf-8")))
    except Exception:  # not UTF-8, not TOML, or the scan is unsure: the loader says
        return None
    if not set(parsed) <= PLATFORM_FILE_TABLES:
        return None
    head = parsed.get("platform", {})
    variants = parsed.get("variants", {})
    if not isinstance(head, dict) or not isinstance(variants, dict):
        return None
    if not _head_ok(head, PLATFORM_KEYS):
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
        if not _head_ok(table, VARIANT_KEYS):
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


# The table-header scan. One regular expression walks the text: the part before the
# named groups skips plain text, strings (multi-line ones whole, escapes included),
# comments, arrays and inline tables holding none (whole, over lines too), and
# newlines that do not start a line opening with '['. Each match then ends in one
# event: such a line (a table header, its brackets and first key captured, or not
# one), an opening or closing bracket or brace (of an array or inline table holding
# others), the end, or anything else (a quote that opens no valid string: doubt).
_BASIC = r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
_LITERAL = r"'[^'\n]*'"
_ML_BASIC = r'"""[^"\\]*(?:(?:\\[\s\S]|""?(?!"))[^"\\]*)*"""(?:""?(?!"))?'
_ML_LITERAL = r"'''[\s\S]*?'''(?:''?(?!'))?"
_STRING = f"{_ML_BASIC}|{_ML_LITERAL}|{_BASIC}|{_LITERAL}"
# each alternative of a loop starts where no other can, so a failed match backtracks
# in linear time
_FLAT_ARRAY = rf"\[[^\[\]{{}}\"'#]*(?:(?:{_STRING}|#[^\n]*)[^\[\]{{}}\"'#]*)*\]"
_FLAT_TABLE = rf"\{{[^\[\]{{}}\"'#\n]*(?:(?:{_BASIC}|{_LITERAL})[^\[\]{{}}\"'#\n]*)*\}}"
_SKIP = (
    rf"(?:[^\n\"'#\[\]{{}}]+|\n(?![ \t]*\[)|{_STRING}|#[^\n]*|{_FLAT_ARRAY}"
    rf"|{_FLAT_TABLE})*"
)
_KEY = r"""(?:[A-Za-z0-9_-]+|"[^"\\\n]*"|'[^'\n]*')"""
_EVENT = (
    _SKIP + r"(?:(?P<line>\n[ \t]*(?:(?P<opens>\[\[?)[ \t]*"
    rf"(?P<first>{_KEY})(?:[ \t]*\.[ \t]*{_KEY})*[ \t]*(?P<closes>\]\]?)"
    r"[ \t]*(?:#[^\n]*)?(?=\n|\Z)|\[[^\n]*))"
    r"|(?P<open>[\[{])|(?P<close>[\]}])|(?P<end>\Z)|(?P<doubt>[\s\S]))"
)


class _Doubt(Exception):
    """The scan cannot be sure of the file's tables."""


def headers(text: str) -> list[tuple[int, str]]:
    """Where each table header's line starts in "\\n" + text (whose lines end in
    "\\n"), and the first key it names; raises _Doubt where a line opening with '['
    is not plainly a header."""
    found: list[tuple[int, str]] = []
    depth = 0
    # compiled here, not at import: a cached listing needs no scan (re caches it)
    for match in re.finditer(_EVENT, "\n" + text):
        event = match.lastgroup  # the outermost group: "line", not "first"
        if event == "line":
            opens, closes = match["opens"], match["closes"]
            if depth or opens is None or len(opens) != len(closes):
                raise _Doubt(match["line"])  # an array's item, or not a header
            first = match["first"]
            found.append(
                (match.start("line"), first[1:-1] if first[0] in "\"'" else first)
            )
        elif event == "open":
            depth += 1
        elif event == "close":
            depth -= 1
            if depth < 0:
                raise _Doubt("an unmatched closing bracket")
        elif event == "end":
            break
        else:
            raise _Doubt(f"unreadable: {match['doubt']!r}")
    if depth:
        raise _Doubt("an unclosed bracket")
    return found


def head_text(text: str) -> str:
    """The part of a platform file that names sessions: what precedes the first
    table header, and every [platform...] and [variants...] table; raises _Doubt
    where the scan is unsure or a table is unknown (the loader names it)."""
    if text.count("\r") != text.count("\r\n"):
        raise _Doubt("a carriage return that ends no line")
    # TOML reads CRLF as LF, in multi-line strings too: a cut after "\r" is none
    text = text.replace("\r\n", "\n")
    found = headers(text)
    text = "\n" + text
    starts = [start for start, _ in found] + [len(text)]
    kept = [text[: starts[0]]]
    for (start, first), end in zip(found, starts[1:], strict=True):
        if first in _HEAD_TABLES:
            kept.append(text[start:end])
        elif first not in PLATFORM_FILE_TABLES:
            raise _Doubt(f"unknown table {first!r}")
    return "".join(kept)
