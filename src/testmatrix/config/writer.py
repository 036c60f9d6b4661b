"""Skiplist files as text (TOML strings, arrays, inline tables), and the staging that
writes a set of files only once they are proven."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path


def toml_escape(text: str) -> str:
    """Text for the inside of a TOML basic string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def toml_string(text: str) -> str:
    """A TOML basic string."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\t", "\\t")
    out = "".join(
        c if ord(c) >= 0x20 and c != "\x7f" else f"\\u{ord(c):04x}" for c in out
    )
    return f'"{out}"'


def toml_array(items: list[str] | tuple[str, ...], indent: str = "") -> str:
    """A TOML array of strings: one line when it fits, else one item a line."""
    one = "[" + ", ".join(toml_string(i) for i in items) + "]"
    if len(one) + len(indent) <= 72 or len(items) < 2:
        return one
    inner = "".join(f"    {toml_string(i)},\n" for i in items)
    return "[\n" + inner + "]"


def toml_table(values: Mapping[str, object]) -> str:
    """A TOML inline table of strings, numbers, booleans and inline tables."""
    parts = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            shown = toml_table(value)
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, int):
            shown = str(value)
        else:
            shown = toml_string(str(value))
        parts.append(f"{key} = {shown}")
    return "{ " + ", ".join(parts) + " }"


def existing(skiplist_dir: Path, files: dict[str, str]) -> list[Path]:
    """The files an import would overwrite."""
    return [skiplist_dir / name for name in files if (skiplist_dir / name).exists()]


def stage(skiplist_dir: Path, files: dict[str, str]) -> Path:
    """Write the files into a new directory beside `skiplist_dir`, with the platform
    files already there that the import does not write (what loading will see)."""
    parent = skiplist_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".testmatrix-import-", dir=parent))
    platforms = skiplist_dir / "platforms"
    if platforms.is_dir():
        for path in platforms.glob("*.toml"):
            if f"platforms/{path.name}" not in files:
                (staged / "platforms").mkdir(exist_ok=True)
                shutil.copy2(path, staged / "platforms" / path.name)
    for name, text in files.items():
        target = staged / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return staged


def publish(staged: Path, skiplist_dir: Path, files: dict[str, str]) -> list[Path]:
    """Move the staged files into the skiplist directory; the staging goes."""
    written = []
    for name in files:
        target = skiplist_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged / name, target)
        written.append(target)
    shutil.rmtree(staged, ignore_errors=True)
    return written
