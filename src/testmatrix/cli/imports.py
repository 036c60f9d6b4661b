"""`testmatrix import`: CI files into suites and entries, proven command by command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from testmatrix.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
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
    """vLLM's CI: suites, variants and entries, written only once proven."""
    from testmatrix.vllm.workflow import NothingMapped, import_ci

    try:
        done = import_ci(
            [Path(p) for p in args.paths],
            Path(args.skiplists),
            default_working_dir=args.default_working_dir,
            checkout_root=args.checkout_root,
            allow_partial=args.allow_partial,
            force=args.force,
        )
    except NothingMapped as exc:
        for line in exc.lines:
            print(line)
        raise
    if args.json:
        print(json.dumps(done.as_json(), indent=2))
    else:
        for line in done.lines():
            print(line)
    if done.refused:
        print(
            "testmatrix: import: some sessions would not run what the CI runs; "
            "nothing written (--allow-partial writes it anyway)",
            file=sys.stderr,
        )
        return 1
    return 0
