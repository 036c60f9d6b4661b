"""The workspace as plain JSON and back, for the cache: nothing but the model's own
frozen records, FrozenMaps, frozensets, dates, tuples and JSON scalars is written,
and nothing else can be constructed from a file.

Every JSON object is a tagged value {"@": TAG, "v": ...}: a record of the model (its
fields in declaration order), "map", "set" or "date"; arrays are tuples. A file name
in a Location is kept relative to the skiplist directory and made relative to the
working directory again when read, so one cache serves every working directory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

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
            file = files.get(obj.file)
            if file is None:
                file = files[obj.file] = os.path.relpath(_abs(obj.file), skiplists)
            return {"@": "Location", "v": [file, obj.line]}
        name = type(obj).__name__
        if RECORDS.get(name) is not type(obj):
            raise Refused(f"{name} is not one of the model's records")
        names = _fields(name)
        assert names is not None  # one of RECORDS: checked above
        return {"@": name, "v": [value(getattr(obj, f)) for f in names]}

    values = [value(getattr(workspace, name)) for name in WORKSPACE_FIELDS]
    return json.dumps(values, separators=(",", ":"))


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

    def __call__(self, obj: dict[str, Any]) -> Any:
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
            file, line = value
            if type(line) is not int:
                raise Refused("a location's line is not an integer")
            return Location(self.file(file), line)
        names = _fields(tag) if type(tag) is str else None
        if names is None or type(value) is not list or len(value) != len(names):
            raise Refused(f"{tag!r} is not one of the model's records")
        fields = zip(names, value, strict=True)
        return restore(
            RECORDS[tag], {n: _tuples(v) if type(v) is list else v for n, v in fields}
        )


def decode(text: str, root: Path, skiplist_dir: Path) -> Workspace:
    """The workspace `encode` wrote, lying at `root`; Refused where the text holds
    anything else."""
    try:
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
