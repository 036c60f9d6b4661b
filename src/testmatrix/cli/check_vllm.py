"""`testmatrix check-vllm`: vLLM's CI files as they are, against the skiplists."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from testmatrix.config.loader import load_workspace


def add_parser(sub: argparse._SubParsersAction) -> None:
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
        "--baseline",
        nargs="+",
        action="extend",
        metavar="PATH",
        help="an earlier version of the same CI files (test_areas directory and/or "
        "test-amd.yaml): AMD jobs that ran tests then and run none now, and test "
        "files an AMD job ran then that none runs now, are findings",
    )
    p.add_argument(
        "--json", action="store_true", help="findings, unchecked commands and totals"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """vLLM's CI files as they are against the skiplists: exit 1 on any finding."""
    from testmatrix.vllm import check as vllmcheck

    workspace = load_workspace(args.root)
    plan = vllmcheck.read_plan(
        [Path(p) for p in args.paths],
        workspace,
        checkout_root=args.checkout_root,
        default_working_dir=args.default_working_dir,
    )
    result = vllmcheck.check(workspace, plan)
    baseline = getattr(args, "baseline", None)
    if baseline:
        from testmatrix.vllm import coverage

        before = vllmcheck.read_plan(
            [Path(p) for p in baseline],
            workspace,
            checkout_root=args.checkout_root,
            default_working_dir=args.default_working_dir,
        )
        result.findings += coverage.lost(
            coverage.coverage(vllmcheck.Matcher(workspace, before), before),
            coverage.coverage(vllmcheck.Matcher(workspace, plan), plan),
        )
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
