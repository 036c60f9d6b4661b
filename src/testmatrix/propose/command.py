"""`testmatrix propose`: the skiplist edits the history's evidence supports, as a
unified diff, or written into the files with --write."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from testmatrix.errors import TestmatrixError

from .edits import PLACEHOLDER_ISSUE
from .evidence import Thresholds

_DEFAULTS = Thresholds()


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "propose",
        help="propose skiplist edits from the history's evidence (a unified diff; "
        "--write applies it)",
        description=__doc__,
    )
    p.add_argument(
        "--db",
        metavar="PATH|URL",
        help="the history: a SQLite file or a postgresql:// URL (default: "
        "$TESTMATRIX_HISTORY_DB, else .testmatrix/history.sqlite in the workspace "
        "root; not read with --reports alone unless it exists)",
    )
    p.add_argument(
        "--reports",
        metavar="DIR",
        type=Path,
        help="one build's reports (reports/<session>/summary*.json with junit*.xml): "
        "counted as the newest build; alone, a bring-up from a --no-skiplist run",
    )
    p.add_argument(
        "--write",
        action="store_true",
        help="write the edits into the skiplist files instead of printing the diff",
    )
    p.add_argument(
        "--failing",
        type=int,
        metavar="N",
        help="builds in a row a test must fail with one error signature for a new "
        f"expected failure (default {_DEFAULTS.failing}; 1 with --reports alone)",
    )
    _int(
        p,
        "--passing",
        _DEFAULTS.passing,
        "builds in a row every test of an "
        "expected failure must pass to remove it; also the builds an entry's tests "
        "must be missing from to remove it",
    )
    _int(
        p, "--quiet", _DEFAULTS.quiet, "builds without a flake to remove a flaky entry"
    )
    _int(
        p, "--window", _DEFAULTS.window, "builds `history flaky` judges flakiness over"
    )
    _int(p, "--reruns", _DEFAULTS.reruns, "reruns of a proposed flaky entry")
    p.add_argument(
        "--issue",
        default=PLACEHOLDER_ISSUE,
        metavar="URL",
        help="the issue link of new entries (default: the placeholder "
        f"{PLACEHOLDER_ISSUE}, to be replaced)",
    )
    p.add_argument(
        "--include-simulated",
        action="store_true",
        help="propose for targets whose summaries say they ran on simulated hardware "
        "too (by default nothing is proposed for them)",
    )
    p.add_argument("--json", action="store_true", help="print the proposal as JSON")
    p.set_defaults(func=run)


def _int(p: argparse.ArgumentParser, flag: str, default: int, what: str) -> None:
    p.add_argument(
        flag, type=int, default=default, metavar="N", help=f"{what} (default {default})"
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except TestmatrixError as exc:
        if not args.json:
            raise
        print(json.dumps({"error": str(exc)}))
        return 2


def _run(args: argparse.Namespace) -> int:
    from testmatrix.config.loader import find_root, load_workspace
    from testmatrix.history.store import default_path

    from .plan import evidence_store, propose, simulated_targets

    workspace = load_workspace(args.root, check_paths=False)
    db = args.db
    if db is None:
        default = default_path(find_root(args.root or Path.cwd()))
        if args.reports is None or Path(default).is_file() or "://" in default:
            db = default
    if args.reports is not None and not args.reports.is_dir():
        raise TestmatrixError(f"{args.reports}: not a folder of build reports")
    failing = args.failing
    if failing is None:
        failing = 1 if args.reports is not None and db is None else _DEFAULTS.failing
    for flag, value in (
        ("--failing", failing),
        ("--passing", args.passing),
        ("--quiet", args.quiet),
        ("--window", args.window),
    ):
        if not 1 <= value <= 100:
            raise TestmatrixError(f"{flag} {value}: give 1 to 100 builds")
    if not 0 <= args.reruns <= 10:
        raise TestmatrixError(f"--reruns {args.reruns}: give 0 to 10")
    limits = Thresholds(failing, args.passing, args.quiet, args.window, args.reruns)
    simulated = None if args.include_simulated else simulated_targets(args.reports)
    with evidence_store(db, args.reports, workspace) as store:
        proposal = propose(store, workspace, limits, simulated, args.issue)
    for note in proposal.notes:
        print(f"testmatrix: note: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(_as_json(proposal), indent=2))
    if proposal.empty:
        if not args.json:
            left_out = proposal.evidence.skipped_targets
            said = f" (left out, simulated: {', '.join(left_out)})" if left_out else ""
            print(f"testmatrix propose: nothing to propose{said}")
        return 0
    if args.write:
        for edit in proposal.edits:
            _write(edit.path, edit.new_text())
            if not args.json:
                print(f"wrote {edit.rel}")
    elif not args.json:
        sys.stdout.write("".join(edit.diff() for edit in proposal.edits))
    return 0


def _write(path: Path, text: str) -> None:
    """Replace a skiplist whole: a temporary file renamed over it, so a reader never
    sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _as_json(proposal: Any) -> dict[str, Any]:
    ev = proposal.evidence
    return {
        "files": [
            {
                "file": e.rel,
                "new": e.old is None,
                "add": e.add,
                "remove": [
                    {
                        "entry": s.location,
                        "kind": s.kind,
                        "evidence": s.evidence,
                        "proof": list(s.proof),
                    }
                    for _, s in e.remove
                ],
                "diff": e.diff(),
            }
            for e in proposal.edits
        ],
        "failing_tests": len(ev.failing),
        "flaky_tests": len(ev.flaky),
        "simulated_targets": ev.skipped_targets,
        "notes": proposal.notes,
    }
