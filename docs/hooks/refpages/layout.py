"""The package layout: the layers as the import-linter contract in `pyproject.toml`
writes them, top to bottom, and each subpackage's and module's job from its docstring.

Docstrings are read from the source, without importing anything, so a module that needs
an optional dependency is listed too.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path

from refpages.text import code, prose, table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the package depends on tomli there
    import tomli as tomllib

INTRO = """\
# Package layout

`src/testmatrix/` is one package in layers; data flows one way: skiplists -> model ->
plan -> adapters. A module may import only from layers below its own; the order is
written once, as an import-linter contract in `pyproject.toml`, and `nox -s check`
checks it (`lint-imports`; imports inside functions and under `TYPE_CHECKING` count
too). Generated from that contract and from each module's docstring.
"""


def page(root: Path) -> tuple[str, list[str]]:
    """The page, and every subpackage or module without a docstring."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config.get("tool", {}).get("importlinter", {}).get("contracts", [])
    layers = next((c for c in contracts if c.get("type") == "layers"), None)
    if layers is None:
        raise RuntimeError("pyproject.toml declares no import-linter layers contract")
    package = root / "src" / layers["containers"][0].replace(".", "/")
    missing: list[str] = []
    lines = [INTRO, "## Layers, top to bottom", "", f"> {prose(layers['name'])}", ""]
    rows, named = [], set()
    for level, layer in enumerate(layers["layers"], start=1):
        for name in _names(layer):
            named.add(name)
            rows.append([str(level), code(name), _about(package, name, missing)])
    lines += [*table(["layer", "part", "its job"], rows), ""]
    lines += [
        "Parts in one layer are siblings; the contract says whether they may import "
        "each other (`|`: they may not, `:`: they may).",
        "",
    ]
    lines += _outside(package, named, missing)
    for layer in layers["layers"]:
        for name in _names(layer):
            lines += _modules(package, name, missing)
    return "\n".join(lines) + "\n", missing


def _outside(package: Path, named: set[str], missing: list[str]) -> list[str]:
    """Top-level modules the contract does not place: the published front doors."""
    rows = [
        [code(f"testmatrix.{p.stem}"), _about(package, p.stem, missing)]
        for p in sorted(package.glob("*.py"))
        if p.stem not in named and p.name != "__init__.py"
    ]
    if not rows:
        return []
    return [
        "## Outside the layers",
        "",
        "Modules kept at paths users import or run, each handing over to a layer.",
        "",
        *table(["module", "its job"], rows),
        "",
    ]


def _names(layer: str) -> list[str]:
    return [n.strip() for n in layer.replace(":", "|").split("|") if n.strip()]


def _about(package: Path, name: str, missing: list[str]) -> str:
    """The first line of the docstring of a subpackage or module."""
    path = package / name / "__init__.py"
    if not path.is_file():
        path = package / f"{name}.py"
    if not path.is_file():
        return ""
    text = _docstring(path)
    if not text or text.strip().upper() == "TODO":
        missing.append(f"no docstring: {path.relative_to(package.parent)}")
        return ""
    return prose(text.strip().split("\n\n")[0])


# a module's leading string literal, after comments: its docstring, read without
# parsing the whole module (the package's biggest modules are 1,000+ lines)
_LEADING = re.compile(r"\s*(?:#[^\n]*\n\s*)*([rRuU]?(\"{3}|'{3}|\"|').*?\2)", re.S)


def _docstring(path: Path) -> str | None:
    text = path.read_text(encoding="utf-8")
    match = _LEADING.match(text)
    if match is None:
        return None
    value = ast.literal_eval(match.group(1))
    return inspect.cleandoc(value) if isinstance(value, str) else None


def _modules(package: Path, name: str, missing: list[str]) -> list[str]:
    """A subpackage's modules and their jobs; nothing for a single module."""
    folder = package / name
    if not folder.is_dir():
        return []
    rows = []
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        rows.append([code(path.stem), _about(folder, path.stem, missing)])
    if not rows:
        return []
    return [f"### `testmatrix.{name}`", "", *table(["module", "its job"], rows), ""]
