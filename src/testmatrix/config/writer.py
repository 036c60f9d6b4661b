"""Write imports as skiplist files.

A generic pipeline's --ignore flags (bkimport): the platform file always, suites.toml
when there is none; with one, imported suites are first rebased onto its suites.
vLLM's CI (importplan): suites.toml and one file per platform, staged beside the
skiplist directory so the import can prove them before they replace anything.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from testmatrix.buildkite.importer import Ignore, Imported, ImportedSuite
from testmatrix.config import tomlpos
from testmatrix.core.names import NAME_PATTERN, RESERVED_PLATFORMS
from testmatrix.errors import TestmatrixError
from testmatrix.vllm.plan import ImportPlan, PlatformPlan


def _esc(text: str) -> str:
    """Text for the inside of a TOML basic string."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_toml(
    imported: Imported, platform: str, description: str | None = None
) -> tuple[str, str]:
    """(platform file text, suites.toml text) for an import."""
    source = Path(imported.source).name
    plat = [
        f"# Imported by testmatrix from {source}; edit freely.",
        "",
        "[platform]",
        f'description = "{_esc(description or "imported from " + source)}"',
    ]
    for suite in imported.suites.values():
        for ignore in suite.ignores:
            plat += [
                "",
                "[[ignore]]",
                f'suite = "{suite.name}"',
                f'path = "{_esc(ignore.path)}"',
                f'reason = "{_esc(ignore.reason)}"',
            ]
            if ignore.issue:
                plat.append(f'issue = "{_esc(ignore.issue)}"')
    suites = [f"# Suites imported by testmatrix from {source}.", ""]
    for suite in imported.suites.values():
        suites += [
            f"[suites.{suite.name}]",
            f'path = "{_esc(suite.path)}"',
            f'description = "{_esc(suite.step)}"',
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


# -- the vLLM import: suites, variants and entries of an ImportPlan ------------


def _string(text: str) -> str:
    """A TOML basic string."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\t", "\\t")
    out = "".join(
        c if ord(c) >= 0x20 and c != "\x7f" else f"\\u{ord(c):04x}" for c in out
    )
    return f'"{out}"'


def _array(items: list[str] | tuple[str, ...], indent: str = "") -> str:
    """A TOML array of strings: one line when it fits, else one item a line."""
    one = "[" + ", ".join(_string(i) for i in items) + "]"
    if len(one) + len(indent) <= 72 or len(items) < 2:
        return one
    inner = "".join(f"    {_string(i)},\n" for i in items)
    return "[\n" + inner + "]"


def _table(values: Mapping[str, object]) -> str:
    """A TOML inline table of strings, numbers, booleans and inline tables."""
    parts = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            shown = _table(value)
        elif isinstance(value, bool):
            shown = "true" if value else "false"
        elif isinstance(value, int):
            shown = str(value)
        else:
            shown = _string(str(value))
        parts.append(f"{key} = {shown}")
    return "{ " + ", ".join(parts) + " }"


def _reasons(reasons: dict[str, str], base: str) -> str:
    """One exclude_reason for a suite's excludes: the shared one, or each path's."""
    distinct = list(dict.fromkeys(reasons.values()))
    if len(distinct) == 1:
        return distinct[0]
    return "; ".join(
        f"{posixpath.relpath(target, base) if base else target}: {reason}"
        for target, reason in reasons.items()
    )


def render_plan(plan: ImportPlan, sources: str) -> dict[str, str]:
    """{path relative to the skiplist directory: TOML text} for an import plan."""
    files = {"suites.toml": _suites_text(plan, sources)}
    for platform in plan.platforms.values():
        files[f"platforms/{platform.name}.toml"] = _platform_text(platform, sources)
    return files


def _suites_text(plan: ImportPlan, sources: str) -> str:
    whole = set(plan.platforms)  # a suite on all of them needs no 'platforms'
    lines = [
        f"# Suites imported by testmatrix from {sources}.",
        "# One per pytest selection of the CI: its paths minus excludes, -m, -k,",
        "# environment and arguments. Edit freely; `testmatrix import --force` writes",
        "# them again.",
    ]
    groups: dict[str, list] = {}
    for suite in plan.suites.values():
        groups.setdefault(suite.group, []).append(suite)
    for group, suites in groups.items():
        lines += ["", f"# -- {group} " + "-" * max(3, 76 - len(group))]
        for suite in suites:
            first = suite.first
            lines += ["", f"[suites.{suite.name}]"]
            if len(suite.paths) == 1:
                lines.append(f"path = {_string(suite.paths[0])}")
            else:
                lines.append(f"paths = {_array(suite.paths)}")
            lines.append(f"description = {_string(suite.description)}")
            base = suite.base
            if suite.exclude_reasons:
                shown = [
                    posixpath.relpath(t, base) if base else t
                    for t in suite.exclude_reasons
                ]
                lines.append(f"exclude = {_array(shown)}")
                reason = _reasons(suite.exclude_reasons, base)
                lines.append(f"exclude_reason = {_string(reason)}")
            if first.markexpr:
                lines.append(f"markexpr = {_string(first.markexpr)}")
            if first.keyword:
                lines.append(f"keyword = {_string(first.keyword)}")
            if first.env:
                lines.append(f"env = {_table(dict(sorted(first.env.items())))}")
            if first.args:
                lines.append(f"args = {_array(first.args)}")
            if suite.gpus != 1:
                lines.append(f"gpus = {suite.gpus}")
            if set(suite.places) != whole:
                lines.append(f"platforms = {_array(suite.places)}")
                lines.append(
                    "platforms_reason = "
                    + _string(
                        "imported: the CI runs this selection only there "
                        f"({', '.join(suite.places)})"
                    )
                )
            buildkite: dict[str, object] = {}
            if suite.parallelism:
                buildkite["parallelism"] = suite.parallelism
            if suite.timeout_in_minutes:
                buildkite["timeout_in_minutes"] = suite.timeout_in_minutes
            if suite.soft_fail:
                buildkite["soft_fail"] = True
            if buildkite:
                lines.append(f"buildkite = {_table(buildkite)}")
    return "\n".join(lines) + "\n"


def _platform_text(platform: PlatformPlan, sources: str) -> str:
    lines = [
        f"# Imported by testmatrix from {sources}; edit freely.",
        "",
        "[platform]",
        f"description = {_string(platform.description)}",
        f"hardware = {_string(platform.hardware)}",
    ]
    for variant in platform.variants.values():
        lines += ["", f"[variants.{variant.name}]"]
        lines.append(f"description = {_string(variant.description)}")
        if variant.match:
            lines.append(f"match = {_array(variant.match)}")
        elif variant.shares:
            lines.append(
                f"# detection cannot tell it from {variant.shares} (the same hardware "
                f"target): run its sessions with --variant {variant.name}"
            )
        if variant.agent_pool:
            pool = {"agents": {"agent_pool": variant.agent_pool}}
            lines.append(f"buildkite = {_table(pool)}")
    suite = None
    for entry in platform.entries:
        if entry.suite != suite:
            suite = entry.suite
            lines += ["", f"# -- suite {suite} " + "-" * max(3, 70 - len(suite))]
        lines.append("")
        shown = ", ".join(str(s) for s in entry.sources[:4])
        more = len(entry.sources) - 4
        lines.append(f"# from {shown}" + (f" and {more} more" if more > 0 else ""))
        if entry.kind == "ignore":
            lines += ["[[ignore]]", f"suite = {_string(entry.suite)}"]
            lines.append(f"paths = {_array(entry.paths)}")
        else:
            lines += ["[[deselect]]", f"tests = {_array(entry.paths)}"]
        if entry.variants:
            lines.append(f"variants = {_array(entry.variants)}")
        lines.append(f"reason = {_string(entry.reason)}")
        if entry.issue:
            lines.append(f"issue = {_string(entry.issue)}")
    return "\n".join(lines) + "\n"


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
