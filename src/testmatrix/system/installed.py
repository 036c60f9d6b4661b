"""Where the running testmatrix came from: what a fresh virtualenv must install to
run the same one (plan.testmatrix_requirement decides from these facts)."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from testmatrix import __version__
from testmatrix.core.facts import DISTRIBUTION, Origin


def is_own_project(tree: Path) -> bool:
    """Whether `tree` is a checkout of testmatrix itself (any copy of it)."""
    try:
        text = (tree / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return f'name = "{DISTRIBUTION}"' in text


def origin() -> Origin:
    package = Path(__file__).resolve().parents[1]  # testmatrix/
    tree = package.parents[1]  # src/testmatrix -> the checkout
    if package.parent.name == "src" and is_own_project(tree):
        return Origin(__version__, source=tree)
    return Origin(__version__, url=_installed_from(package))


def _installed_from(package: Path) -> str | None:
    """The file:// URL the running package was installed from, if it still exists."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    located = Path(str(dist.locate_file("testmatrix"))).resolve()
    if located != package:
        return None  # another copy is installed; this one runs from elsewhere
    text = dist.read_text("direct_url.json")
    if not text:
        return None  # from the package index: its version says it
    try:
        url = json.loads(text).get("url", "")
    except ValueError:
        return None
    parsed = urlparse(url)
    if parsed.scheme != "file" or not Path(unquote(parsed.path)).exists():
        return None
    return url
