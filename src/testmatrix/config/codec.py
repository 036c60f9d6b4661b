"""The workspace as plain JSON and back, for the cache: nothing but the model's own
frozen records, FrozenMaps, frozensets, dates, tuples and JSON scalars is written,
and nothing else can be constructed from a file.

Every JSON object is a tagged value {"@": TAG, "v": ...}: a record of the model (its
fields in declaration order), "map", "set" or "date"; arrays are tuples. A tuple of
two or more records of one class (a platform's entries: thousands, in a big
skiplist) is written as one "rows" object: the class, a kind per field (`S`: every
value a JSON scalar; `L`: every value a Location, written [file, line]; `T`: every
value a tuple of JSON scalars; `-`: any value, tagged as above) and a list per
record. Its records are checked and made a column at a time, in C's loops, with no
object for json to hand back per record and per location: 3,300 entries decode in
a fraction of the time they took as tagged objects. A file name in a
Location is kept relative to the skiplist directory and made relative to the working
directory again when read, so one cache serves every working directory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import deque
from itertools import chain, cycle, repeat
from pathlib import Path
from typing import Any

from testmatrix.core.gcpause import collector_paused
from testmatrix.core.model import (
    BuildkiteSettings,
    DeselectEntry,
    Exclude,
    FlakyEntry,
    FrozenMap,
    GithubSettings,
    IgnoreEntry,
    Location,
    ModelList,
    Platform,
    Signature,
    SkipEntry,
    Suite,
    Variant,
    Workspace,
)
from testmatrix.core.record import field_names, restore

# the records a cached workspace may hold: the allowlist
RECORDS: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        BuildkiteSettings,
        GithubSettings,
        Exclude,
        Suite,
        ModelList,
        Signature,
        IgnoreEntry,
        SkipEntry,
        DeselectEntry,
        FlakyEntry,
        Variant,
        Platform,
    )
}


def _fields(tag: str) -> tuple[str, ...] | None:
    """A record's field names in declaration order (read when one is first
    written or read)."""
    cls = RECORDS.get(tag)
    return None if cls is None else field_names(cls)


# the workspace's own fields but where it lies (the caller says)
WORKSPACE_FIELDS = [
    name for name in field_names(Workspace) if name not in ("root", "skiplist_dir")
]


class Refused(ValueError):
    """Something the codec does not write or read: the cache goes unused."""


def _abs(path: str) -> str:
    return os.path.normpath(os.path.join(os.getcwd(), path))


def encode(workspace: Workspace) -> str:
    """The workspace's values (but its root and skiplist directory) as JSON text;
    Refused where it holds anything the codec does not know."""
    skiplists = str(workspace.skiplist_dir)
    files: dict[str, str] = {}

    def value(obj: Any) -> Any:
        if obj is None or isinstance(obj, (str, bool, int, float)):
            return obj
        if isinstance(obj, tuple):
            first = type(obj[0]) if obj else None
            if len(obj) > 1 and _one_class(obj, first):
                return rows(obj)
            return [value(v) for v in obj]
        if isinstance(obj, (FrozenMap, dict)):  # the workspace's own maps are dicts
            if not all(isinstance(k, str) for k in obj):
                raise Refused("a map with a key that is not a string")
            return {"@": "map", "v": [[k, value(v)] for k, v in obj.items()]}
        if isinstance(obj, frozenset):
            return {"@": "set", "v": sorted(value(v) for v in obj)}
        if type(obj) is dt.date:
            return {"@": "date", "v": obj.isoformat()}
        if type(obj) is Location:
            return {"@": "Location", "v": location(obj)}
        name = type(obj).__name__
        if RECORDS.get(name) is not type(obj):
            raise Refused(f"{name} is not one of the model's records")
        names = _fields(name)
        assert names is not None  # one of RECORDS: checked above
        return {"@": name, "v": [value(getattr(obj, f)) for f in names]}

    def location(obj: Location) -> list[Any]:
        file = files.get(obj.file)
        if file is None:
            file = files[obj.file] = os.path.relpath(_abs(obj.file), skiplists)
        return [file, obj.line]

    def rows(records: tuple[Any, ...]) -> dict[str, Any]:
        name = type(records[0]).__name__
        names = _fields(name)
        assert names is not None  # one of RECORDS: the caller checked
        columns = [[getattr(r, f) for r in records] for f in names]
        kinds = "".join(_kind(column) for column in columns)
        coded = [
            [location(v) for v in column]
            if kind == "L"
            else [list(v) for v in column]
            if kind == "T"
            else column
            if kind == "S"
            else [value(v) for v in column]
            for kind, column in zip(kinds, columns, strict=True)
        ]
        return {
            "@": "rows",
            "c": name,
            "k": kinds,
            "v": [list(r) for r in zip(*coded, strict=True)],
        }

    values = [value(getattr(workspace, name)) for name in WORKSPACE_FIELDS]
    return json.dumps(values, separators=(",", ":"))


_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))


def _one_class(values: tuple[Any, ...], cls: type | None) -> bool:
    """Whether every value is a record of this one class of the model."""
    if cls is None or RECORDS.get(cls.__name__) is not cls:
        return False
    return _all_of(values, cls)


def _kind(column: list[Any]) -> str:
    """How a rows object writes one field of its records (see the module)."""
    if _SCALAR_TYPES.issuperset(map(type, column)):
        return "S"
    if _all_of(column, Location):
        return "L"
    if _all_of(column, tuple) and _SCALAR_TYPES.issuperset(
        map(type, chain.from_iterable(column))
    ):
        return "T"
    return "-"


def _tuples(value: Any) -> Any:
    """JSON arrays as the tuples they were written from."""
    if type(value) is list:
        return tuple(_tuples(v) for v in value)
    return value


class _Decoder:
    """Turns tagged objects back into values (json's object_hook, innermost first)."""

    def __init__(self, skiplist_dir: Path):
        self.skiplist_dir = str(skiplist_dir)
        self.files: dict[str, str] = {}
        self.cwd = os.getcwd()

    def file(self, rel: object) -> str:
        if not isinstance(rel, str):
            raise Refused("a location's file is not a string")
        found = self.files.get(rel)
        if found is None:
            where = os.path.join(self.skiplist_dir, rel)
            found = self.files[rel] = os.path.relpath(where, self.cwd)
        return found

    def rows(self, obj: dict[str, Any]) -> tuple[Any, ...]:
        """The records of a rows object (see the module), checked and made a
        column at a time: every step is one of C's loops (map, zip, a set of
        types), where a loop in Python would cost 3,300 entries 20 ms."""
        if len(obj) != 4 or not {"c", "k", "v"} <= obj.keys():
            raise Refused("a rows object without its class, kinds and rows")
        tag, kinds, rows = obj["c"], obj["k"], obj["v"]
        names = _fields(tag) if type(tag) is str else None
        if names is None or type(kinds) is not str or type(rows) is not list:
            raise Refused(f"rows of {tag!r}, not of one of the model's records")
        if len(kinds) != len(names) or kinds.strip("LTS-"):
            raise Refused(f"rows of {tag} with kinds {kinds!r}")
        if not _all_of(rows, list) or set(map(len, rows)) - {len(names)}:
            raise Refused(f"a row of {tag} that is not {len(names)} values")
        columns = [
            self.column(kind, column)
            for kind, column in zip(kinds, zip(*rows, strict=True), strict=True)
        ]
        return _made(RECORDS[tag], names, zip(*columns, strict=True), len(rows))

    def column(self, kind: str, values: tuple[Any, ...]) -> Any:
        """One field of every record of a rows object, checked and decoded."""
        if kind == "S":  # JSON scalars, as they are
            if not _SCALAR_TYPES.issuperset(map(type, values)):
                raise Refused("a scalar field holding more than scalars")
            return values
        if kind == "T":
            if not _all_of(values, list) or not _SCALAR_TYPES.issuperset(
                map(type, chain.from_iterable(values))
            ):
                raise Refused("a tuple field holding more than scalars")
            return map(tuple, values)
        if kind == "L":
            if not _all_of(values, list) or set(map(len, values)) - {2}:
                raise Refused("a location that is not [file, line]")
            files, lines = zip(*values, strict=True) if values else ((), ())
            if not _all_of(lines, int):
                raise Refused("a location's line is not an integer")
            for rel in set(files):
                self.file(rel)
            named = map(self.files.__getitem__, files)
            pairs = zip(named, lines, strict=True)
            return _made(Location, field_names(Location), pairs, len(values))
        return [_tuples(v) if type(v) is list else v for v in values]

    def location(self, pair: object) -> Location:
        """A Location from its [file, line] (made as `restore` makes records)."""
        if type(pair) is not list or len(pair) != 2 or type(pair[1]) is not int:
            raise Refused("a location that is not [file, line]")
        return restore(Location, {"file": self.file(pair[0]), "line": pair[1]})

    def __call__(self, obj: dict[str, Any]) -> Any:
        if obj.get("@") == "rows":
            return self.rows(obj)
        if len(obj) != 2 or "@" not in obj or "v" not in obj:
            raise Refused("an untagged object")
        tag, value = obj["@"], obj["v"]
        if tag == "map":
            if not all(
                type(p) is list and len(p) == 2 and type(p[0]) is str for p in value
            ):
                raise Refused("a map that is not a list of pairs")
            return FrozenMap({k: _tuples(v) for k, v in value})
        if tag == "set":
            return frozenset(_tuples(value))
        if tag == "date":
            return dt.date.fromisoformat(value)
        if tag == "Location":
            return self.location(value)
        names = _fields(tag) if type(tag) is str else None
        if names is None or type(value) is not list or len(value) != len(names):
            raise Refused(f"{tag!r} is not one of the model's records")
        fields = zip(names, value, strict=True)
        return restore(
            RECORDS[tag], {n: _tuples(v) if type(v) is list else v for n, v in fields}
        )


def _all_of(values: Any, kind: type) -> bool:
    """Whether every value is of exactly this type (counted in C)."""
    return set(map(type, values)) <= {kind}


def _made(cls: type, names: tuple[str, ...], rows: Any, n: int) -> tuple[Any, ...]:
    """`n` records of `cls` holding `rows` (tuples of their field values, in the
    order of `names`; each row complete, as `rows` checked), each field set as the
    constructor sets it (object.__setattr__), every step but the first record's in
    C. So the values live in the object itself (Python 3.11+), as a constructed
    record's do: no dict object per record for every full collection of the run,
    and of the interpreter's exit, to walk, and a third less memory. The first
    record is made whole (`record.restore`) before the others are allocated:
    each allocation takes a slot of the class's shared attribute names, and
    records allocated before any name is set would be left too few, and given a
    dict each."""
    if not n:
        return ()
    rows = iter(rows)
    first: Any = restore(cls, dict(zip(names, next(rows), strict=True)))
    rest: tuple[Any, ...] = tuple(map(object.__new__, repeat(cls, n - 1)))
    owners = chain.from_iterable(map(repeat, rest, repeat(len(names), n - 1)))
    values = chain.from_iterable(rows)
    deque(map(object.__setattr__, owners, cycle(names), values), maxlen=0)
    return (first, *rest)


def decode(text: str, root: Path, skiplist_dir: Path) -> Workspace:
    """The workspace `encode` wrote, lying at `root`; Refused where the text holds
    anything else."""
    # the records made here hold no cycle: the collector, which their thousands of
    # allocations would start again and again over everything made so far, waits
    try:
        with collector_paused():
            values = json.loads(text, object_hook=_Decoder(skiplist_dir))
    except (ValueError, TypeError, KeyError) as exc:
        raise Refused(str(exc)) from None
    if type(values) is not list or len(values) != len(WORKSPACE_FIELDS):
        raise Refused("not a workspace")
    fields = {n: _tuples(v) for n, v in zip(WORKSPACE_FIELDS, values, strict=True)}
    try:
        return Workspace(root=root, skiplist_dir=skiplist_dir, **fields)
    except TypeError as exc:
        raise Refused(str(exc)) from None
