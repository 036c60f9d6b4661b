"""The `testmatrix` command: a row of subcommands over the same workspace and plan."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TypedDict

from . import __version__
from .config import load_workspace
from .errors import TestmatrixError, UsageError
from .plan import (
    SessionKey,
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
    if args.format == "vllm":
        return _export_vllm(args)
    if args.paths:
        raise UsageError(
            "export takes vLLM's CI files only with --format vllm; the Buildkite "
            "pipeline goes to --output"
        )
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
    _write(path, text, given=bool(args.output))
    return 0


def _export_vllm(args: argparse.Namespace) -> int:
    """The skiplists into vLLM's test_areas mirror blocks, in place; with --check,
    vLLM's files as they are against the skiplists (check-vllm)."""
    from . import vllmcheck, vllmexport

    if not args.paths:
        raise UsageError(
            "export --format vllm needs vLLM's CI files: .buildkite/test_areas "
            "and/or .buildkite/test-amd.yaml"
        )
    if args.check:
        return _check_vllm(args)
    workspace = load_workspace(args.root)
    paths = [Path(p) for p in args.paths]
    plan = vllmcheck.read_plan(
        paths,
        workspace,
        checkout_root=args.checkout_root,
        default_working_dir=args.default_working_dir,
    )
    result = vllmexport.export(workspace, plan, paths, args.style or "nox")
    for note in result.notes:
        print(f"note: {note}")
    for line in result.rewritten:
        print(f"rewritten: {line}")
    for line in result.left:
        print(f"note: {line}")
    if result.rewritten or result.left:
        print(
            f"test-amd steps: {len(result.rewritten)} rewritten, "
            f"{len(result.left)} left as they are"
        )
    for path, text in result.files.items():
        if path in result.changed:
            _write(path, text, given=True)
        else:
            print(f"{path}: unchanged")
    return 0


def _write(path: Path, text: str, *, given: bool) -> None:
    """Write a file atomically. A folder the user named (-o) must exist: a typo there
    is an error, not a new folder; the default location's folder is made."""
    if given and not path.parent.is_dir():
        raise TestmatrixError(f"{path}: folder '{path.parent}' does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot write: {exc.strerror}") from None
    print(f"wrote {path}")


def _import(args: argparse.Namespace) -> int:
    if args.platform is not None:
        return _import_pipeline(args)
    return _import_vllm(args)


def _import_pipeline(args: argparse.Namespace) -> int:
    """--platform: one Buildkite pipeline's --ignore flags onto one platform."""
    from . import bkimport, skiplist_writer

    if len(args.paths) != 1:
        raise UsageError(
            "import --platform takes one pipeline file; without --platform, give "
            "vLLM's test_areas directory and/or test-amd.yaml"
        )
    pipeline = args.paths[0]
    imported = bkimport.import_pipeline(
        pipeline,
        checkout_root=args.checkout_root,
        default_working_dir=args.default_working_dir,
        local_root=Path(args.skiplists).resolve().parent,
    )
    for line in imported.notes + bkimport.report_lines(imported):
        print(line)
    if not imported.suites:
        print(
            f"testmatrix: {pipeline}: no --ignore flags found; nothing written",
            file=sys.stderr,
        )
        return 1
    for path in skiplist_writer.write_skiplists(
        imported, Path(args.skiplists), args.platform, force=args.force
    ):
        print(f"wrote {path}")
    return 0


def _import_vllm(args: argparse.Namespace) -> int:
    """vLLM's CI: suites, variants and entries, written only once proven."""
    import os
    import shutil
    import time

    from . import importplan, importproof, skiplist_writer, vllmci
    from .errors import ConfigError

    started = time.perf_counter()
    skiplist_dir = Path(args.skiplists)
    checkout = skiplist_dir.resolve().parent
    paths = [Path(p) for p in args.paths]
    reading = vllmci.read(paths, default_working_dir=args.default_working_dir)
    known: dict[str, bool] = {}

    def exists(rel: str) -> bool:
        if rel not in known:
            known[rel] = (checkout / rel).exists()
        return known[rel]

    plan = importplan.plan(
        reading.jobs,
        exists=exists,
        checkout_root=args.checkout_root,
        allow_partial=args.allow_partial,
    )
    if not plan.suites:
        for line in importproof.step_lines(importproof.prove(plan, None, checkout)):
            print(line)
        raise TestmatrixError(
            f"{' and '.join(map(str, paths))}: no pytest command maps to a suite; "
            "nothing written"
        )
    sources = " and ".join(str(p) for p in paths)
    files = skiplist_writer.render_plan(plan, sources)
    clash = skiplist_writer.existing(skiplist_dir, files)
    if clash and not args.force:
        raise TestmatrixError(
            "\n".join(
                f"{p}: already exists; pass --force to overwrite it" for p in clash
            )
        )
    try:
        staged = skiplist_writer.stage(skiplist_dir, files)
    except OSError as exc:
        where = exc.filename or skiplist_dir
        raise TestmatrixError(f"{where}: cannot write: {exc.strerror}") from None
    try:
        workspace = load_workspace(checkout, staged)
        results = importproof.prove(plan, workspace, checkout)
    except ConfigError as exc:  # the plan wrote what the loader refuses: a bug
        shutil.rmtree(staged, ignore_errors=True)
        message = str(exc).replace(str(staged), str(skiplist_dir))
        message = message.replace(os.path.relpath(staged), str(skiplist_dir))
        raise TestmatrixError(message) from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    totals = importproof.totals(results)
    refused = totals["different"] > 0 and not args.allow_partial
    written: list[Path] = []
    if refused:
        shutil.rmtree(staged, ignore_errors=True)
    else:
        try:
            written = skiplist_writer.publish(staged, skiplist_dir, files)
        except OSError as exc:
            shutil.rmtree(staged, ignore_errors=True)
            where = exc.filename or skiplist_dir
            raise TestmatrixError(f"{where}: cannot write: {exc.strerror}") from None
    seconds = time.perf_counter() - started
    counts = importplan.counts(plan.instances)
    dropped = importplan.dropped_flags(plan)
    if args.json:
        print(
            json.dumps(
                {
                    "checkout_root": plan.checkout_root,
                    "files": [vars(f) for f in reading.files],
                    "notes": plan.notes,
                    "commands": [r.as_dict() for r in results],
                    "flags": importplan.flag_records(plan),
                    "totals": {
                        **totals,
                        "suites": len(plan.suites),
                        "flags": sum(counts.values()),
                        "excludes": counts["exclude"],
                        "ignores": counts["ignore"],
                        "dropped": counts["dropped"],
                        "output_flags_dropped": dict(dropped.most_common()),
                        "seconds": round(seconds, 3),
                    },
                    "written": [str(p) for p in written],
                },
                indent=2,
            )
        )
    else:
        for line in (
            [f"note: {n}" for n in plan.notes]
            + importplan.job_notes(plan)
            + importplan.flag_lines(plan)
            + importproof.step_lines(results)
        ):
            print(line)
        if dropped:
            each = ", ".join(f"{flag} x{n}" for flag, n in dropped.most_common())
            print(
                "dropped output-only flags (they change what pytest prints or when "
                f"it stops, never what it selects): {each}"
            )
        for path in written:
            print(f"wrote {path}")
        for f in reading.files:
            print(
                f"read {f.path}: {f.steps} steps, {f.jobs} jobs, {f.pytest} pytest "
                f"commands, {f.flags} --ignore/--deselect flags"
            )
        print(
            f"testmatrix import: {totals['pytest_commands']} pytest commands: "
            f"{totals['exact']} exact, {totals['different']} different, "
            f"{totals['not_mapped']} not mapped; {totals['other_commands']} other "
            f"commands; {len(plan.suites)} suites; flags: {counts['exclude']} "
            f"excludes, {counts['ignore']} platform ignores, {counts['dropped']} "
            f"match nothing; {seconds:.2f} s"
        )
    if refused:
        print(
            "testmatrix: import: some sessions would not run what the CI runs; "
            "nothing written (--allow-partial writes it anyway)",
            file=sys.stderr,
        )
        return 1
    return 0


def _check_vllm(args: argparse.Namespace) -> int:
    """vLLM's CI files as they are against the skiplists: exit 1 on any finding."""
    from . import vllmcheck

    workspace = load_workspace(args.root)
    plan = vllmcheck.read_plan(
        [Path(p) for p in args.paths],
        workspace,
        checkout_root=args.checkout_root,
        default_working_dir=args.default_working_dir,
    )
    result = vllmcheck.check(workspace, plan)
    if args.json:
        print(
            json.dumps(
                {
                    "checkout_root": plan.checkout_root,
                    "findings": [f.as_dict() for f in result.findings],
                    "unchecked": result.unchecked,
                    "totals": result.totals(),
                },
                indent=2,
            )
        )
    else:
        for line in vllmcheck.lines(result):
            print(line)
    return 1 if result.findings else 0


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
    from .detect import detect
    from .explain import targets_named
    from .plan import hardware_mismatch

    workspace = load_workspace(args.root)
    targets = targets_named(workspace, args.platform)
    found = detect()
    variant = targets[0].variant if len(targets) == 1 else None
    mismatch = hardware_mismatch(
        targets[0].platform, variant, found.hardware, found.models, found.describe()
    )
    if mismatch and not args.simulate:
        raise TestmatrixError(
            f"audit of {args.platform} needs its hardware, but this machine has "
            f"{found.describe()}: its tests may pass here for the wrong reason and "
            "call needed entries stale; --simulate runs them anyway, marked SIMULATED"
        )

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    audits = au.audit(
        workspace,
        args.platform,
        collect(workspace).cases,
        simulated=bool(mismatch),
        say=say,
    )
    if args.json:
        print(json.dumps([a.as_dict() for a in audits], indent=2))
    else:
        print(au.render(audits))
    wrong = [a for a in audits if a.verdict in ("stale", "fails differently")]
    return 1 if args.strict and wrong else 0


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
    streaks = None
    if args.history is not None:
        from .history.command import report_streaks

        streaks = report_streaks(args.history, args.root)
    text = reports.matrix(reports.read_summaries(paths), expected, streaks)
    if args.output:
        _write(Path(args.output), text, given=True)
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="testmatrix", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
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
    p.add_argument(
        "--format",
        choices=("buildkite", "vllm"),
        default="buildkite",
        help="vllm: update the mirror: amd: blocks of vLLM's test_areas files and "
        "the steps of test-amd.yaml in place (PATHS); with --check, check vLLM's "
        "files as check-vllm does",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="with --format vllm: vLLM's test_areas directory (and test-amd.yaml)",
    )
    p.add_argument("--checkout-root", help="with --format vllm: as check-vllm's")
    p.add_argument("--default-working-dir", help="with --format vllm: as check-vllm's")
    p.add_argument("--json", action="store_true", help="with --format vllm --check")
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
        help="exit 1 when any entry is stale or fails differently (a scheduled job)",
    )
    p.add_argument(
        "--simulate",
        action="store_true",
        help="run on hardware that is not the target's; every line says SIMULATED",
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
    p.add_argument(
        "--history",
        nargs="?",
        const="",
        metavar="DB",
        help="put each red cell's streak from this history beside it (no DB: the "
        "default history, see `testmatrix history --help`)",
    )
    p.set_defaults(func=_report)

    p = sub.add_parser(
        "import",
        help="turn vLLM's CI (test_areas/, test-amd.yaml) into suites and entries, "
        "proven command by command; or, with --platform, one Buildkite pipeline's "
        "--ignore flags",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="vLLM's test_areas directory and/or test-amd.yaml (or an older "
        "test-pipeline.yaml); with --platform: one Buildkite pipeline file",
    )
    p.add_argument(
        "--platform",
        help="import one generic pipeline's --ignore flags onto this platform: "
        "writes platforms/PLATFORM.toml",
    )
    p.add_argument(
        "--skiplists",
        default="skiplists",
        help="skiplist directory to write into, at the root of the checkout it "
        "imports for (default: skiplists)",
    )
    p.add_argument(
        "--checkout-root",
        help="absolute path of the checkout on the agents (default: the deepest "
        "directory holding every directory pytest runs in; vLLM: /vllm-workspace)",
    )
    p.add_argument(
        "--default-working-dir",
        help="working directory of steps without working_dir (default: vLLM's "
        "/vllm-workspace/tests, or what the pipeline header says; with --platform: "
        "the most common working_dir)",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite existing skiplist files"
    )
    p.add_argument(
        "--allow-partial",
        action="store_true",
        help="write even when some commands map to sessions that differ, or name "
        "test paths missing from the checkout (those commands are not mapped)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="the report as JSON: per command file, line, label, platform, variant, "
        "sessions, status (exact/different/not-mapped) and detail",
    )
    p.set_defaults(func=_import)

    p = sub.add_parser(
        "check-vllm",
        help="check vLLM's CI files as they are (test_areas mirrors, test-amd.yaml) "
        "against the skiplists: AMD jobs that select otherwise, NVIDIA jobs without "
        "their AMD twin; exit 1 on any",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="vLLM's test_areas directory and/or test-amd.yaml",
    )
    p.add_argument(
        "--checkout-root",
        help="absolute path of the checkout on the agents (default: as the import "
        "finds it; vLLM: /vllm-workspace)",
    )
    p.add_argument(
        "--default-working-dir",
        help="working directory of steps without working_dir (default: vLLM's "
        "/vllm-workspace/tests, or what the pipeline header says)",
    )
    p.add_argument(
        "--json", action="store_true", help="findings, unchecked commands and totals"
    )
    p.set_defaults(func=_check_vllm)
    from .history.command import add_parser as add_history

    add_history(sub)
    return parser


# the optional extra each module belongs to (pip install 'NAME[extra]')
EXTRAS = {
    "yaml": "buildkite",
    "buildkite_sdk": "buildkite",
    "jsonschema": "buildkite",
    "psycopg": "postgresql",
}


def _distribution() -> str:
    """The name this package is installed under (for install advice)."""
    from importlib import metadata

    names = metadata.packages_distributions().get(__package__ or "testmatrix")
    return names[0] if names else "testmatrix"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except TestmatrixError as exc:
        for line in str(exc).splitlines():
            print(f"testmatrix: error: {line}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(
            f"testmatrix: error: 'testmatrix {args.command}' needs the optional "
            f"'{extra}' dependencies (no module {exc.name}): "
            f"pip install '{_distribution()}[{extra}]'",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:
        # the reader left (`testmatrix explain | head`): end quietly, as a process
        # killed by SIGPIPE does, without a traceback at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
