"""The JSON Schemas (draft-07) of the skiplist files, made from their declarations
and shipped in `schemas/` for editors (Taplo, Even Better TOML)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from testmatrix.config.kinds import Kind
from testmatrix.config.schema import DOCUMENTS
from testmatrix.config.tables import ArrayOf, Document, Key, Table

SCHEMA_DIR = Path(__file__).parents[1] / "schemas"


def _key_schema(key: Key) -> dict[str, Any]:
    kind = key.kind
    if isinstance(kind, Kind):
        out = kind.json()
    elif isinstance(kind, Table):
        out = _table_schema(kind)
    elif isinstance(kind, ArrayOf):
        out = {"type": "array", "items": _table_schema(kind.table)}
    else:
        out = {"type": "object"}
        if kind.names is not None:
            out["propertyNames"] = {"pattern": kind.names.regex.pattern}
        if key.required:
            out["minProperties"] = 1
        out["additionalProperties"] = _table_schema(kind.table)
    out = {"description": key.meaning, **out}
    if key.default is not None:
        out["default"] = key.default
    return out


def _table_schema(table: Table) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "description": table.meaning,
        "properties": {name: _key_schema(key) for name, key in table.keys.items()},
        "additionalProperties": False,
    }
    required = [name for name, key in table.keys.items() if key.required]
    if required:
        out["required"] = required
    if table.rules:
        out["allOf"] = [rule.json() for rule in table.rules]
    return out


def json_schema(document: Document) -> dict[str, Any]:
    """The JSON Schema (draft-07) of one kind of skiplist file."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": f"testmatrix {document.path}",
        **_table_schema(document.root),
    }


def schema_text(document: Document) -> str:
    return json.dumps(json_schema(document), indent=2, ensure_ascii=False) + "\n"


def schema_path(document: Document) -> Path:
    return SCHEMA_DIR / f"{document.name}.schema.json"


def main(argv: list[str] | None = None) -> int:
    """--write: regenerate the shipped schemas; --check (the default): exit 1 when
    they differ from the declarations."""
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["--check"], ["--write"]):
        print("usage: python -m testmatrix.schema [--check | --write]", file=sys.stderr)
        return 2
    stale = []
    for document in DOCUMENTS:
        path, text = schema_path(document), schema_text(document)
        if args == ["--write"]:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path.name)
    if stale:
        print(
            f"stale: {', '.join(stale)}; run: python -m testmatrix.schema --write",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
