"""Workspace-relative paths of what pytest collects: asked for every directory,
file and item, so the common case is a string cut, not os.path.relpath."""

from __future__ import annotations

import functools
import os
from pathlib import Path


@functools.lru_cache(maxsize=65536)
def relpath(path: Path, root: Path) -> str | None:
    """Workspace-relative posix path, or None outside the workspace; cached, as every
    item of a file asks for the same one."""
    rel = os.path.relpath(os.path.abspath(path), root)
    if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


class RelPaths:
    """`relpath` for one root without its cost where it is a string cut: a path
    pytest gives is absolute and normal, so one under the root is the root's
    prefix and the rest (a path with '.' parts, or not under the root, takes
    `relpath`)."""

    __slots__ = ("prefix", "root")

    def __init__(self, root: Path):
        self.root = root
        absolute = os.path.abspath(root)
        # the fast cut only where paths are posix: elsewhere relpath says it
        self.prefix = os.path.join(absolute, "") if os.sep == "/" else None

    def __call__(self, path: Path) -> str | None:
        text = os.fspath(path)
        prefix = self.prefix
        if (
            prefix is not None
            and text.startswith(prefix)
            and "/." not in text  # '..', '.', hidden folders: relpath decides
            and "//" not in text
        ):
            return text[len(prefix) :] or None
        return relpath(path, self.root)
