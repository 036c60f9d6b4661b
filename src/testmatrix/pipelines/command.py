"""`testmatrix import` of plain pipelines and workflows: options, reading, report.

The subcommand's own flow (plan, stage, prove, write) is the vLLM import's; this
module adds what differs: which reader reads a file, how runner labels tell
platforms, the checkout root, the platforms' descriptions, and the steps not read.
"""

from __future__ import annotations

import argparse
import posixpath
import re
from pathlib import Path
from typing import Any

from testmatrix.config.loader import load_workspace
from testmatrix.errors import TestmatrixError, UsageError
from testmatrix.pipelines import buildkite_plain, github, keywords, reasons
from testmatrix.pipelines.common import Reading, check_size
from testmatrix.pipelines.runners import Runners
from testmatrix.vllm import jobs as vjobs
from testmatrix.vllm.planmodel import ImportPlan

# step keys only vLLM's CI files have (its generator's input, not Buildkite's); not
# `gpu` or `device`, which a plain pipeline's agent tags may use
VLLM_KEYS = {
    "agent_pool", "source_file_dependencies", "mirror_hardwares", "mirror",
    "working_dir",
}  # fmt: skip
DESCRIPTIONS = {
    "cuda": "NVIDIA GPUs",
    "rocm": "AMD GPUs",
    "cpu": "CPU-only runners",
}


def kind_of(path: Path) -> str:
    """'vllm', 'buildkite' or 'github': what a file is, by its top-level and step
    keys (read from the text: detection must not cost a second YAML parse)."""
    if path.is_dir():
        return "vllm"
    if not path.exists():
        raise TestmatrixError(f"{path}: no such file or directory")
    check_size(path, str(path))
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read: {exc.strerror}") from None
    if re.search(r"^jobs\s*:", text, re.M):
        return "github"
    keys = "|".join(sorted(VLLM_KEYS))
    if re.search(rf"^(group\s*:|\s*-?\s*({keys})\s*:)", text, re.M):
        return "vllm"
    return "buildkite"


def kinds(args: argparse.Namespace) -> list[str]:
    """Each path's kind, checked to be all vLLM's or all plain."""
    paths = [Path(p) for p in args.paths]
    found = [args.source if args.source != "auto" else kind_of(p) for p in paths]
    if "vllm" in found and set(found) != {"vllm"}:
        mixed = ", ".join(f"{p} ({k})" for p, k in zip(paths, found, strict=True))
        raise UsageError(
            f"import takes vLLM's CI files or plain pipelines and workflows, not "
            f"both: {mixed}"
        )
    if "vllm" not in found and getattr(args, "default_working_dir", None):
        raise UsageError(
            "--default-working-dir is for vLLM's CI files; a plain pipeline's steps "
            "start at the checkout (--checkout-root) or their plugin's workdir"
        )
    return found


def read(args: argparse.Namespace, checkout: Path, skiplists: Path) -> Reading:
    """Every job of the plain pipelines and workflows named on the command line."""
    reading = Reading()
    workspace = None
    if (skiplists / "suites.toml").exists():
        try:
            workspace = load_workspace(checkout, skiplists, check_paths=False)
        except TestmatrixError as exc:
            first = str(exc).splitlines()[0]
            reading.notes.append(
                f"the workspace's agent settings are not read ({first})"
            )
    runners = Runners(args.runner, workspace)
    wrappers = tuple(args.wrapper)
    for raw in args.paths:
        path = Path(raw)
        kind = args.source if args.source != "auto" else kind_of(path)
        reader = github.read if kind == "github" else buildkite_plain.read
        reader(path, str(raw), reading, runners, wrappers, args.checkout_root)
        reading.sources.append(kind)
    root = checkout_root(reading, args.checkout_root)
    if root is not None:
        keywords.convert(reading, checkout, root)
    return reading


def checkout_root(reading: vjobs.Reading, given: str | None) -> str | None:
    """The checkout root: the one every job starts in, when pytest runs under it;
    else None (the planner finds one, and says so)."""
    if given is not None or not isinstance(reading, Reading):
        return given
    roots = {_root(job) for job in reading.jobs if job.pytest}
    if len(roots) != 1:
        return None
    root = roots.pop()
    cwds = [c.cwd for j in reading.jobs for c in j.pytest if c.cwd]
    if all(c == root or c.startswith(root.rstrip("/") + "/") for c in cwds):
        return root
    return None


def _root(job: vjobs.Job) -> str:
    if job.working_dir.startswith(github.WORKSPACE):
        return github.WORKSPACE
    return posixpath.normpath(job.working_dir)


def describe(plan: ImportPlan, reading: vjobs.Reading) -> None:
    """Platform and variant descriptions that name the runners, not vLLM's CI."""
    if not isinstance(reading, Reading):
        return
    reasons.deselect_reasons(plan)
    for platform in plan.platforms.values():
        mine = [j for j in plan.jobs if j.platform == platform.name]
        told = ", ".join(dict.fromkeys(j.device or "" for j in mine if j.device))
        what = DESCRIPTIONS.get(platform.name, f"{platform.name} runners")
        platform.description = f"{what} (imported; runners: {told or 'default'})"
        for variant in platform.variants.values():
            labels = [
                j.device or "" for j in mine if j.variant == variant.name and j.device
            ]
            gfx = [g for j in mine if j.variant == variant.name for g in j.gfx]
            shown = ", ".join(dict.fromkeys(labels)) or variant.name
            extra = f", {', '.join(dict.fromkeys(gfx))}" if gfx else ""
            variant.description = f"{what}: runners {shown}{extra}"


def report_lines(reading: vjobs.Reading) -> list[str]:
    """The reader's notes and every step not read, with why."""
    if not isinstance(reading, Reading):
        return []
    return [f"note: {n}" for n in reading.notes] + [str(u) for u in reading.unread]


def json_fields(reading: vjobs.Reading) -> dict[str, Any]:
    if not isinstance(reading, Reading):
        return {}
    return {
        "unread": [u.as_dict() for u in reading.unread],
        "reader_notes": list(reading.notes),
        "job_notes": [
            {
                "file": job.location.file,
                "line": job.location.line,
                "label": job.label,
                "platform": job.platform,
                "variant": job.variant,
                "note": note,
            }
            for job in reading.jobs
            for note in job.notes
        ],
    }
