"""The `testmatrix` command: a row of subcommands over the same workspace and plan."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import TypedDict

from .config import load_workspace
from .errors import TestmatrixError, UsageError
from .plan import (
    SessionKey,
    platform_named,
    session_command,
    session_named,
    sessions,
)


class _SessionRow(TypedDict):
    """One row of `testmatrix sessions` (its --json output as is)."""

    session: str
    platform: str
    variant: str | None
    suite: str
    argv: list[str]
    env: dict[str, str]


def _sessions(args: argparse.Namespace) -> int:
    workspace = load_workspace(args.root)
    rows: list[_SessionRow] = []
    for name, key in sessions(workspace).items():
        command = session_command(
            workspace, key.platform, key.suite, variant=key.variant
        )
        rows.append(
            {
                "session": name,
                "platform": key.platform,
                "variant": key.variant,
                "suite": key.suite,
                "argv": ["pytest", *command.argv],
                "env": dict(command.env),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            env = [f"{k}={v}" for k, v in row["env"].items()]
            print(f"{row['session']}: {shlex.join([*env, *row['argv']])}")
    return 0


def _argv(args: argparse.Namespace) -> int:
    workspace = load_workspace(args.root)
    if len(args.names) == 1:
        key = session_named(workspace, args.names[0])
    elif len(args.names) == 2:
        platform, suite = args.names
        key = SessionKey(platform, args.variant, suite)
    else:
        raise UsageError("argv takes a session name, or a platform and a suite")
    posargs = ["--no-skiplist"] if args.no_skiplist else []
    command = session_command(
        workspace, key.platform, key.suite, variant=key.variant, posargs=posargs
    )
    if args.json:
        print(json.dumps(command.as_dict(), indent=2))
    else:
        env = [f"{k}={v}" for k, v in command.env.items()]
        print(shlex.join([*env, "pytest", *command.argv]))
    return 0


def _export(args: argparse.Namespace) -> int:
    from . import buildkite

    workspace = load_workspace(args.root, check_paths=not args.no_path_check)
    path = Path(args.output) if args.output else buildkite.pipeline_path(workspace)
    if args.check:
        diff = buildkite.drift(workspace, path, args.style)
        if diff:
            sys.stdout.write(diff)
            print(
                f"testmatrix: {path} does not match the skiplists; "
                "regenerate it: testmatrix export",
                file=sys.stderr,
            )
            return 1
        print(f"{path}: matches the skiplists")
        return 0
    text = buildkite.render(workspace, args.style)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    print(f"wrote {path}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from . import bkimport, skiplist_writer

    imported = bkimport.import_pipeline(
        args.pipeline,
        checkout_root=args.checkout_root,
        default_working_dir=args.default_working_dir,
        local_root=Path(args.skiplists).resolve().parent,
    )
    for line in imported.notes + bkimport.report_lines(imported):
        print(line)
    if not imported.suites:
        print(
            f"testmatrix: {args.pipeline}: no --ignore flags found; nothing written",
            file=sys.stderr,
        )
        return 1
    for path in skiplist_writer.write_skiplists(
        imported, Path(args.skiplists), args.platform, force=args.force
    ):
        print(f"wrote {path}")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from . import explain as ex
    from .collect import collect

    workspace = load_workspace(args.root)
    targets = ex.targets_named(workspace, args.platform)
    collected = collect(workspace, keyword=args.keyword)
    cases = collected.cases
    if args.test:
        cases = [
            c
            for c in cases
            if c.nodeid == args.test
            or c.nodeid.startswith(args.test + "[")
            or c.nodeid.startswith(args.test + "::")
        ]
        if not cases:
            raise TestmatrixError(
                f"unknown test id '{args.test}': no collected test matches it"
            )
    for error in collected.errors:
        print(f"testmatrix: error: {error}", file=sys.stderr)
    rows = ex.explain(workspace, cases, targets)
    if args.json:
        table = [
            {"target": t, "suite": s, **c} for (t, s), c in ex.summary(rows).items()
        ]
        print(
            json.dumps(
                {"tests": [r.as_dict() for r in rows], "summary": table}, indent=2
            )
        )
    else:
        print(ex.render(rows, verbose=not args.summary))
    return 1 if collected.errors else 0


def _lint(args: argparse.Namespace) -> int:
    from .lint import lint

    findings, tests = lint(args.root or Path.cwd(), paths_only=args.paths_only)
    for finding in findings:
        print(finding)
    errors = sum(f.severity == "error" for f in findings)
    scope = "paths only" if args.paths_only else f"{tests} collected tests"
    print(
        f"testmatrix lint: {errors} errors, {len(findings) - errors} warnings "
        f"({scope})",
        file=sys.stderr,
    )
    return 1 if errors else 0


def _audit(args: argparse.Namespace) -> int:
    from . import audit as au
    from .collect import collect

    workspace = load_workspace(args.root)
    platform_named(workspace, args.platform)
    audits = au.audit(workspace, args.platform, collect(workspace).cases)
    if args.json:
        print(json.dumps([a.as_dict() for a in audits], indent=2))
    else:
        print(au.render(audits))
    stale = [a for a in audits if a.verdict == "stale"]
    return 1 if args.strict and stale else 0


def _report(args: argparse.Namespace) -> int:
    import glob

    from . import reports

    patterns = args.summaries or ["reports/*/summary*.json"]
    paths: list[Path] = []
    for pattern in patterns:
        found = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        paths += [Path(p) for p in found]
    if not paths and not args.allow_empty:
        raise TestmatrixError(f"no summaries found: {' '.join(patterns)}")
    expected = None
    if args.expected:
        workspace = load_workspace(args.root, check_paths=False)
        expected = [(k.target, k.suite) for k in sessions(workspace).values()]
    text = reports.matrix(reports.read_summaries(paths), expected)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="testmatrix", description=__doc__)
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="workspace root (default: nearest directory with skiplists/)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "sessions", help="list every <platform>-<suite> session and its pytest command"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_sessions)

    p = sub.add_parser("argv", help="print the complete command of one session")
    p.add_argument(
        "names",
        nargs="+",
        metavar="SESSION",
        help="a session as `nox -l` lists it (rocm-pooling), or a platform and a suite",
    )
    p.add_argument(
        "--json", action="store_true", help='{"argv": [pytest arguments], "env": {}}'
    )
    p.add_argument("--variant", help="with a platform and a suite: this variant's")
    p.add_argument(
        "--no-skiplist", action="store_true", help="the command with no entry applied"
    )
    p.set_defaults(func=_argv)

    p = sub.add_parser(
        "export", help="write the Buildkite pipeline generated from the skiplists"
    )
    p.add_argument(
        "--output",
        "-o",
        help="file to write ('-' for stdout; default: [workspace.buildkite] "
        "pipeline, else .buildkite/pipeline.yml)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 with a diff when the committed pipeline differs from the "
        "skiplists",
    )
    p.add_argument(
        "--style",
        choices=("nox", "pytest"),
        help="step commands: the nox session (default) or its raw pytest command",
    )
    p.add_argument(
        "--no-path-check",
        action="store_true",
        help="export skiplists without the test tree beside them (paths are not "
        "checked; lint them in the checkout)",
    )
    p.set_defaults(func=_export)

    p = sub.add_parser(
        "explain",
        help="the fate of every test on every platform, and the entry that decided it",
    )
    p.add_argument(
        "test", nargs="?", help="one test id (or a prefix of ids: a file, a function)"
    )
    p.add_argument(
        "-k", dest="keyword", help="only tests matching this pytest -k expression"
    )
    p.add_argument(
        "--platform",
        metavar="TARGET",
        help="only this platform and its variants (rocm), or one variant (rocm:mi300)",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--summary", action="store_true", help="only the platform x suite table"
    )
    p.set_defaults(func=_explain)

    p = sub.add_parser(
        "lint", help="find dead, expired, wasteful or undecidable skiplist entries"
    )
    p.add_argument(
        "--paths-only",
        action="store_true",
        help="check paths and entries without importing any test",
    )
    p.set_defaults(func=_lint)

    p = sub.add_parser(
        "audit", help="run what a platform's entries keep out and report stale entries"
    )
    p.add_argument("--platform", required=True)
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any entry is stale (for a scheduled job)",
    )
    p.set_defaults(func=_audit)

    p = sub.add_parser(
        "report", help="merge session summaries into a Markdown platform x suite matrix"
    )
    p.add_argument(
        "summaries",
        nargs="*",
        help="summary files or glob patterns (default: reports/*/summary*.json; a "
        "parallel step's shards merge into one cell)",
    )
    p.add_argument(
        "--output", "-o", help="write the Markdown here (for buildkite-agent annotate)"
    )
    p.add_argument(
        "--expected",
        action="store_true",
        help="mark the workspace's sessions that sent no summary",
    )
    p.add_argument(
        "--allow-empty",
        action="store_true",
        help="with no summary at all, write a matrix that says so (exit 0)",
    )
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "import",
        help="turn the --ignore flags of an existing Buildkite pipeline into "
        "skiplist entries",
    )
    p.add_argument("pipeline", help="a Buildkite pipeline YAML file")
    p.add_argument(
        "--platform",
        required=True,
        help="the platform the pipeline runs on: writes platforms/PLATFORM.toml",
    )
    p.add_argument(
        "--skiplists",
        default="skiplists",
        help="skiplist directory to write into (default: skiplists)",
    )
    p.add_argument(
        "--checkout-root",
        help="absolute path of the checkout on the agents (default: the deepest "
        "directory holding every absolute working_dir; vLLM: /vllm-workspace)",
    )
    p.add_argument(
        "--default-working-dir",
        help="working directory of steps without working_dir (default: the most "
        "common working_dir, else the checkout root; vLLM: /vllm-workspace/tests)",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite an existing platform file"
    )
    p.set_defaults(func=_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TestmatrixError as exc:
        for line in str(exc).splitlines():
            print(f"testmatrix: error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
