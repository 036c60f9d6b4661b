"""The skiplists, from TOML to a validated Workspace.

schema, buildkite_keys, values   what each file may say, declared once as data
kinds, tables                    the kinds of values and the shape of a declaration
checker                          a parsed file checked against its declaration
reader, entries, paths           the files read into the model, references checked
tomlpos                          where headers, keys and items stand (file:line)
cache, codec                     the one cache: plain JSON, checked before use
listing                          the sessions `nox -l` shows, without a full load
loader                           the front door: `load_workspace`
schemafiles, writer              JSON Schemas for editors; writing skiplists
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_workspace"]


def __getattr__(name: str) -> Any:
    # lazily: `nox -l` imports the listing alone, not the loader
    if name == "load_workspace":
        from testmatrix.config.loader import load_workspace

        return load_workspace
    raise AttributeError(name)
