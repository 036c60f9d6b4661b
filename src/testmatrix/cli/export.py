"""`testmatrix export`: the generated pipeline, or vLLM's CI files updated."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from testmatrix.cli import check_vllm
from testmatrix.cli.output import write_output
from testmatrix.config.loader import load_workspace
from testmatrix.errors import TestmatrixError, UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
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
        choices=("buildkite", "github", "vllm"),
        default="buildkite",
        help="github: a GitHub Actions workflow (default: [workspace.github] "
        "workflow, else .github/workflows/testmatrix.yml); "
        "vllm: update the mirror: amd: blocks of vLLM's test_areas files and "
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
    p.add_argument(
        "--force",
        action="store_true",
        help="overwrite a file testmatrix did not write (one without its header), "
        "and with --format vllm, remove AMD jobs that run tests",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.format == "vllm":
        return _export_vllm(args)
    if args.format == "github":
        from testmatrix.github import export

        return export.run(args)
    if args.paths:
        raise UsageError(
            "export takes vLLM's CI files only with --format vllm; the Buildkite "
            "pipeline goes to --output"
        )
    from testmatrix.buildkite import export as buildkite

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
    write_output(
        path, text, given=bool(args.output), ours=buildkite.HEADER, force=args.force
    )
    return 0


def _export_vllm(args: argparse.Namespace) -> int:
    """The skiplists into vLLM's test_areas mirror blocks, in place; with --check,
    vLLM's files as they are against the skiplists (check-vllm)."""
    from testmatrix.vllm import check as vllmcheck
    from testmatrix.vllm import export as vllmexport

    if not args.paths:
        raise UsageError(
            "export --format vllm needs vLLM's CI files: .buildkite/test_areas "
            "and/or .buildkite/test-amd.yaml"
        )
    if args.check:
        return check_vllm.run(args)
    workspace = load_workspace(args.root)
    paths = [Path(p) for p in args.paths]
    plan = vllmcheck.read_plan(
        paths,
        workspace,
        checkout_root=args.checkout_root,
        default_working_dir=args.default_working_dir,
    )
    result = vllmexport.export(
        workspace, plan, paths, args.style or "nox", force=args.force
    )
    if result.refused:
        raise TestmatrixError(
            "\n".join(
                [
                    *result.refused,
                    f"{len(result.refused)} AMD jobs would lose tests they run; "
                    "nothing written (--force removes them)",
                ]
            )
        )
    for line in result.removed:
        print(f"removed (--force): {line}")
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
            write_output(path, text, given=True)
        else:
            print(f"{path}: unchanged")
    return 0
