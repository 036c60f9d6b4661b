"""`testmatrix import`: CI files into suites and entries, proven command by command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from testmatrix.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    from testmatrix.pipelines import options as pipelines_options

    p = sub.add_parser(
        "import",
        help="turn CI into suites and entries, proven command by command: vLLM's "
        "(test_areas/, test-amd.yaml), a plain Buildkite pipeline or a GitHub "
        "workflow; or, with --platform, one Buildkite pipeline's --ignore flags",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="vLLM's test_areas directory and/or test-amd.yaml (or an older "
        "test-pipeline.yaml), or plain Buildkite pipelines and GitHub workflows; "
        "with --platform: one Buildkite pipeline file",
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
        "directory holding every directory pytest runs in; vLLM: /vllm-workspace; "
        "plain pipelines: /workdir, where bare agents and the docker plugin start; "
        "workflows: /github/workspace)",
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
    pipelines_options.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.platform is not None:
        return _import_pipeline(args)
    return _import_vllm(args)


def _import_pipeline(args: argparse.Namespace) -> int:
    """--platform: one Buildkite pipeline's --ignore flags onto one platform."""
    from testmatrix.buildkite import importer as bkimport
    from testmatrix.buildkite import skiplists as bk_skiplists

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
    for path in bk_skiplists.write_skiplists(
        imported, Path(args.skiplists), args.platform, force=args.force
    ):
        print(f"wrote {path}")
    return 0


def _import_vllm(args: argparse.Namespace) -> int:
    """CI files (vLLM's, a plain pipeline's, a workflow's): suites, variants and
    entries, written only once proven."""
    from testmatrix.pipelines import command as pipelines
    from testmatrix.vllm import ci as vllmci
    from testmatrix.vllm.workflow import NothingMapped, import_ci

    paths = [Path(p) for p in args.paths]
    skiplist_dir = Path(args.skiplists)
    if "vllm" in pipelines.kinds(args):
        reading = vllmci.read(paths, default_working_dir=args.default_working_dir)
    else:
        reading = pipelines.read(args, skiplist_dir.resolve().parent, skiplist_dir)
    try:
        done = import_ci(
            reading,
            paths,
            skiplist_dir,
            checkout_root=pipelines.checkout_root(reading, args.checkout_root),
            allow_partial=args.allow_partial,
            force=args.force,
            after_plan=lambda plan: pipelines.describe(plan, reading),
        )
    except NothingMapped as exc:
        if args.json:  # the report and the error, as JSON
            commands = [r.as_dict() for r in exc.results]
            report = {"error": str(exc), "commands": commands}
            print(json.dumps({**report, **pipelines.json_fields(reading)}, indent=2))
            return 2
        for line in pipelines.report_lines(reading) + exc.lines:
            print(line)
        raise
    if args.json:
        print(
            json.dumps({**done.as_json(), **pipelines.json_fields(reading)}, indent=2)
        )
    else:
        for line in done.lines(pipelines.report_lines(reading)):
            print(line)
    if done.refused:
        print(
            "testmatrix: import: some sessions would not run what the CI runs; "
            "nothing written (--allow-partial writes it anyway)",
            file=sys.stderr,
        )
        return 1
    return 0
