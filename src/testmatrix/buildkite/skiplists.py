"""A Buildkite pipeline's --ignore flags written as skiplist files: the platform file,
and suites.toml where there is none."""

from __future__ import annotations

import posixpath
from pathlib import Path

from testmatrix.buildkite.importer import Ignore, Imported, ImportedSuite
from testmatrix.config import tomlpos
from testmatrix.config.writer import toml_escape
from testmatrix.core.names import NAME_PATTERN, RESERVED_PLATFORMS
from testmatrix.errors import TestmatrixError


def to_toml(
    imported: Imported, platform: str, description: str | None = None
) -> tuple[str, str]:
    """(platform file text, suites.toml text) for an import."""
    source = Path(imported.source).name
    plat = [
        f"# Imported by testmatrix from {source}; edit freely.",
        "",
        "[platform]",
        f'description = "{toml_escape(description or "imported from " + source)}"',
    ]
    for suite in imported.suites.values():
        for ignore in suite.ignores:
            plat += [
                "",
                "[[ignore]]",
                f'suite = "{suite.name}"',
                f'path = "{toml_escape(ignore.path)}"',
                f'reason = "{toml_escape(ignore.reason)}"',
            ]
            if ignore.issue:
                plat.append(f'issue = "{toml_escape(ignore.issue)}"')
    suites = [f"# Suites imported by testmatrix from {source}.", ""]
    for suite in imported.suites.values():
        suites += [
            f"[suites.{suite.name}]",
            f'path = "{toml_escape(suite.path)}"',
            f'description = "{toml_escape(suite.step)}"',
            "",
        ]
    return "\n".join(plat) + "\n", "\n".join(suites)


def rebase(imported: Imported, existing: dict[str, str]) -> Imported:
    """Map imported suites onto a workspace's existing suites {name: path}, by path."""
    suites: dict[str, ImportedSuite] = {}
    for suite in imported.suites.values():
        exact = [n for n, p in existing.items() if p == suite.path]
        containing = sorted(
            (n for n, p in existing.items() if suite.path.startswith(p + "/")),
            key=lambda n: -len(existing[n]),
        )
        if exact:
            name = suite.name if suite.name in exact else exact[0]
        elif containing:
            name = containing[0]
        else:
            line = suite.ignores[0].line if suite.ignores else 1
            raise TestmatrixError(
                f"{imported.source}:{line}: step '{suite.step}' runs pytest on "
                f"'{suite.path}', which is outside every suite "
                f"({', '.join(f'{n}: {p}' for n, p in existing.items())})"
            )
        target = suites.setdefault(
            name, ImportedSuite(name, existing[name], suite.step)
        )
        offset = posixpath.relpath(suite.path, existing[name])
        for ignore in suite.ignores:
            rel = posixpath.normpath(posixpath.join(offset, ignore.path)) + (
                "/" if ignore.path.endswith("/") else ""
            )
            if all(i.path != rel for i in target.ignores):
                target.ignores.append(
                    Ignore(rel, ignore.reason, ignore.issue, ignore.line)
                )
        for step in imported.steps:
            step.suites = [name if s == suite.name else s for s in step.suites]
    return Imported(imported.source, suites, imported.steps)


def write_skiplists(
    imported: Imported, skiplist_dir: Path, platform: str, *, force: bool = False
) -> list[Path]:
    """Write platforms/PLATFORM.toml, and suites.toml when there is none.

    Refuses to overwrite the platform file unless forced.
    """
    if not NAME_PATTERN.match(platform) or platform in RESERVED_PLATFORMS:
        raise TestmatrixError(
            f"invalid platform name '{platform}': "
            "use lower-case letters, digits, '-' or '_'"
        )
    suites_file = skiplist_dir / "suites.toml"
    platform_file = skiplist_dir / "platforms" / f"{platform}.toml"
    if platform_file.exists() and not force:
        raise TestmatrixError(
            f"{platform_file}: already exists; pass --force to overwrite it"
        )
    written = []
    if suites_file.exists():
        try:
            data = tomlpos.parse(suites_file.read_text())
        except Exception as exc:
            line, message = tomlpos.decode_error_line(exc)
            raise TestmatrixError(
                f"{suites_file}:{line}: invalid TOML: {message}"
            ) from None
        existing = {
            n: t.get("path", "").strip("/")
            for n, t in data.get("suites", {}).items()
            if isinstance(t, dict)
        }
        imported = rebase(imported, existing)
        platform_text, _ = to_toml(imported, platform)
    else:
        platform_text, suites_text = to_toml(imported, platform)
        suites_file.parent.mkdir(parents=True, exist_ok=True)
        suites_file.write_text(suites_text)
        written.append(suites_file)
    platform_file.parent.mkdir(parents=True, exist_ok=True)
    platform_file.write_text(platform_text)
    written.append(platform_file)
    return written
