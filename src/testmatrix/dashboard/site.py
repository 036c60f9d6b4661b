"""Writes the static site into a folder: pages, viewer data, assets, and the marker
that proves testmatrix wrote the folder (so it may write it again)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path, PurePosixPath

from ..errors import TestmatrixError
from . import pages, viewer
from .data import Change, DashboardData
from .entrypages import entry_pages
from .markup import page

MARKER = ".testmatrix-dashboard"
ASSETS = ("app.js", "style.css")


def render(
    data: DashboardData, expected: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """{path in the site: its text}: the whole site, before anything is written."""
    shards = viewer.shard_count(len(data.tests))
    site = {
        "index.html": pages.index(data, expected),
        "changes.html": pages.changes_page(data),
        "tests.html": page(
            "tests",
            '<div id="view"><p>Loading the tests...</p></div>'
            "<noscript>The test viewer needs JavaScript; every other page works "
            "without it.</noscript>",
            script=True,
        ),
        "changes.json": changes_json(data),
        "data/manifest.js": viewer.script("manifest", 0, viewer.manifest(data, shards)),
        "data/files.js": viewer.script("files", 0, viewer.files_index(data, shards)),
    }
    site.update(entry_pages(data))
    listed = pages.not_passing(data)
    for suite, name in pages.suite_pages(data).items():
        site[name] = pages.suite_page(data, suite, listed.get(suite, []))
    for n, payload in viewer.shard_payloads(data, shards).items():
        site[f"data/shard-{n}.js"] = viewer.script("shard", n, payload)
    folder = resources.files(__package__) / "assets"
    for name in ASSETS:
        site[f"assets/{name}"] = (folder / name).read_text(encoding="utf-8")
    return site


def changes_json(data: DashboardData) -> str:
    """Every change since the previous build, for scripts (and past the page's
    limit): {"before", "after", "changes": [{kind, test, target, before, after,
    message}]}."""
    if len(data.builds) < 2:
        return json.dumps({"before": None, "after": data.builds[-1].id, "changes": []})
    fields = [f.name for f in dataclasses.fields(Change)]
    changes = [{f: getattr(c, f) for f in fields} for c in data.changes()]
    before, after = data.builds[-2].id, data.builds[-1].id
    return json.dumps({"before": before, "after": after, "changes": changes}, indent=1)


def _previous(directory: Path) -> list[str] | None:
    """The files an earlier run wrote here (None: testmatrix did not write it)."""
    marker = directory / MARKER
    if not marker.is_file():
        return None
    try:
        files = json.loads(marker.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    # only plain relative paths inside the folder: a forged marker deletes nothing
    return [
        f
        for f in files
        if isinstance(f, str)
        and f
        and not PurePosixPath(f).is_absolute()
        and ".." not in PurePosixPath(f).parts
    ]


def check_target(directory: Path, force: bool) -> list[str]:
    """Refuse a folder testmatrix did not write unless it is empty or forced;
    the files an earlier dashboard wrote there."""
    if directory.exists() and not directory.is_dir():
        raise TestmatrixError(f"{directory}: cannot write the dashboard: it is a file")
    previous = _previous(directory) if directory.is_dir() else None
    if (
        previous is None
        and directory.is_dir()
        and any(directory.iterdir())
        and not force
    ):
        raise TestmatrixError(
            f"{directory}: not empty, and no dashboard testmatrix wrote (no {MARKER} "
            "file): choose an empty or new folder, or pass --force to write into it"
        )
    return previous or []


def write_site(
    data: DashboardData,
    directory: Path,
    *,
    force: bool = False,
    expected: Sequence[tuple[str, str]] = (),
) -> list[str]:
    """Render the site, then write it; files an earlier dashboard wrote here and
    this one does not are removed. The paths written, sorted."""
    previous = check_target(directory, force)
    site = render(data, expected)
    try:
        for rel, text in site.items():
            path = directory / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
        for rel in previous:
            if rel not in site and (directory / rel).is_file():
                (directory / rel).unlink()
        marker = {"written_by": "testmatrix report --html", "files": sorted(site)}
        (directory / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    except OSError as exc:
        raise TestmatrixError(
            f"{exc.filename or directory}: cannot write the dashboard: {exc.strerror}"
        ) from None
    return sorted(site)
