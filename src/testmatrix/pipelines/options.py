"""The options `testmatrix import` takes for plain pipelines and workflows.

Kept apart from the readers so that building the command line imports nothing heavy.
"""

from __future__ import annotations

import argparse

FORMATS = ("auto", "vllm", "buildkite", "github")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options a plain pipeline or workflow import adds."""
    parser.add_argument(
        "--from",
        dest="source",
        choices=FORMATS,
        default="auto",
        help="what the files are: vllm (test_areas/, test-amd.yaml), buildkite (a "
        "plain pipeline), github (a workflow); auto (default) tells by their keys",
    )
    parser.add_argument(
        "--runner",
        action="append",
        default=[],
        metavar="LABEL=PLATFORM[:VARIANT]",
        help="a runner label, Buildkite queue or agent tag (a glob) and the platform "
        "it means, before the workspace's variant agent settings and the defaults "
        "(gfx*, mi2xx, mi3xx, amd, rocm: rocm; nvidia, cuda, a100, h100, l4, gpu: "
        "cuda; cpu and GitHub's hosted runners: cpu); repeatable",
    )
    parser.add_argument(
        "--wrapper",
        action="append",
        default=[],
        metavar="SCRIPT",
        help="a script that runs the command after it (.buildkite/run_in_docker.sh "
        "python3 -m pytest ...): its -e K=V and -w DIR are read, the rest is the "
        "command; repeatable",
    )
