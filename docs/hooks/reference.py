"""MkDocs hook: the reference pages, generated at every build from testmatrix's own
declarations (skiplist keys, the CLI's parser, the pytest plugin's options, the layers
and docstrings), so they cannot drift from the code; and the guides no nav entry
names, listed under Guides.

The generators live in `refpages/` beside this file (MkDocs puts this directory on
`sys.path` while it loads the hook).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from refpages import cli, layout, pytest_options, skiplists

ROOT = Path(__file__).resolve().parents[2]

log = logging.getLogger("mkdocs.hooks.reference")

GENERATED = {
    "reference/skiplists.md": skiplists.page,
    "reference/cli.md": cli.page,
    "reference/pytest-options.md": pytest_options.page,
    "reference/layout.md": lambda: layout.page(ROOT),
}
COPIED = {"changelog.md": ROOT / "CHANGELOG.md"}  # one text, two places
GUIDES = "Guides"  # the nav section that takes pages no nav entry names


def on_config(config: Any) -> Any:
    """Pages under docs/ that the nav does not name go to the end of Guides, so a
    new page is never left out of the site (mkdocs --strict refuses nav entries to
    missing files, so pages that may not exist yet cannot be named ahead)."""
    nav = config.nav
    if not nav:
        return config
    named = set(_paths(nav))
    docs = Path(config.docs_dir)
    found = sorted(
        p.relative_to(docs).as_posix()
        for p in docs.rglob("*.md")
        if "hooks" not in p.relative_to(docs).parts
    )
    extra = [p for p in found if p not in named and p not in GENERATED]
    if not extra:
        return config
    section = next((e for e in nav if isinstance(e, dict) and GUIDES in e), None)
    if section is None:
        section = {GUIDES: []}
        nav.append(section)
    for path in extra:
        log.info("nav: %s added under %s (no nav entry names it)", path, GUIDES)
        section[GUIDES].append(path)
    return config


def _paths(nav: Any) -> list[str]:
    """Every page path a nav names."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for value in nav.values() for p in _paths(value)]
    if isinstance(nav, list):
        return [p for item in nav for p in _paths(item)]
    return []


def on_files(files: Files, config: Any) -> Files:
    """The generated pages, as files of the site (none is written to docs/)."""
    # MkDocs restores sys.path once the hook is loaded: the checkout's code goes first
    # here, so the pages describe the code beside them, installed or not
    src = str(ROOT / "src")
    if sys.path[:1] != [src]:
        sys.path.insert(0, src)
    for uri, make in GENERATED.items():
        _refuse_written(files, uri)
        text, missing = make()
        for item in missing:  # info, not a warning: --strict must not fail on it
            log.info("reference: %s", item)
        files.append(File.generated(config, uri, content=text))
    for uri, source in COPIED.items():
        _refuse_written(files, uri)
        text = source.read_text(encoding="utf-8")
        files.append(File.generated(config, uri, content=text))
    return files


def _refuse_written(files: Files, uri: str) -> None:
    if files.get_file_from_path(uri) is not None:
        raise PluginError(
            f"docs/{uri} is generated at build time; remove the written file"
        )
