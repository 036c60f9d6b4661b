"""`testmatrix inventory`: every in-code platform skip and GPU need of a workspace,
with the targets each fires on, as text or JSON."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from testmatrix.core.model import Workspace
from testmatrix.errors import UsageError
from testmatrix.inventory import evaluate as ev
from testmatrix.inventory.coverage import Index
from testmatrix.inventory.found import FileInventory, InCodeSkip
from testmatrix.inventory.predicates import Config, load
from testmatrix.inventory.scan import Verdict, default_paths, scan, verdicts


@dataclass(frozen=True)
class Listed:
    """One finding with the tests it covers and its verdict on every target."""

    skip: InCodeSkip
    tests: tuple[str, ...]
    verdicts: tuple[Verdict, ...]

    def on(self, value: str) -> list[str]:
        return [v.target for v in self.verdicts if v.value == value]

    def as_dict(self) -> dict:
        skip = self.skip
        return {
            "file": skip.path,
            "line": skip.line,
            "end_line": skip.end_line,
            "kind": skip.kind,
            "scope": skip.scope,
            "covers": skip.covers,
            "param": skip.param,
            "tests": list(self.tests),
            "condition": skip.condition,
            "written": skip.written,
            "reason": skip.reason,
            "gpus": skip.gpus,
            "xfail": skip.xfail,
            "fires_on": self.on(ev.FIRES),
            "depends_on": {
                v.target: list(v.depends_on)
                for v in self.verdicts
                if v.value == ev.DEPENDS
            },
            "does_not_fire_on": self.on(ev.QUIET),
        }


def workspace_paths(workspace: Workspace, given: list[str]) -> list[str]:
    """Command-line paths (from here, or from the workspace root) as
    workspace-relative ones; each must exist inside the workspace."""
    root = workspace.root.resolve()
    out = []
    for text in given:
        path = (root / text).resolve()  # as listings print them: from the root
        if not path.exists():
            path = Path(text).resolve()
        if not path.exists():
            raise UsageError(f"{text}: no such file or directory")
        try:
            out.append(path.relative_to(root).as_posix() or ".")
        except ValueError:
            raise UsageError(f"{text}: outside the workspace {root}") from None
    return out


def inventory(
    workspace: Workspace, paths: list[str] | None = None, cfg: Config | None = None
) -> tuple[list[Listed], list[FileInventory]]:
    """(every finding listed, the files that could not be read)."""
    cfg = cfg or load(workspace.skiplist_dir)
    files = scan(workspace.root, paths or default_paths(workspace, cfg), cfg)
    index = Index(files)
    listed = [
        Listed(skip, tuple(index.tests_of(skip)), tuple(verdicts(workspace, skip, cfg)))
        for f in files
        for skip in f.skips
    ]
    return listed, [f for f in files if f.error]


def render(listed: list[Listed], broken: list[FileInventory]) -> str:
    lines = []
    for row in listed:
        skip = row.skip
        fires = ", ".join(row.on(ev.FIRES)) or "no target"
        depends = ", ".join(row.on(ev.DEPENDS))
        gpus = f" needs {skip.gpus} GPUs;" if skip.gpus else ""
        tests = ", ".join(row.tests) if row.tests else "(no test uses it)"
        lines.append(
            f"{skip.where}: {skip.kind} [{skip.scope}] {tests}\n"
            f"    fires on {fires}"
            + (f"; depends on {depends}" if depends else "")
            + f";{gpus} reason: {skip.reason or '(none)'}"
        )
    for f in broken:
        lines.append(f"{f.path}: not read: {f.error}")
    fires_somewhere = sum(bool(r.on(ev.FIRES)) for r in listed)
    lines.append(
        f"{len(listed)} in-code skips and GPU needs, {fires_somewhere} fire on some "
        f"target; {len(broken)} files not read"
    )
    return "\n".join(lines)


def relative_to_cwd(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
