"""`testmatrix report --html DIR`: the options it adds to `report`, and the run."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import TestmatrixError

ENV_BUILD = "BUILDKITE_BUILD_NUMBER"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The dashboard's options of the `report` subcommand."""
    group = parser.add_argument_group("dashboard (a static HTML site)")
    group.add_argument(
        "--html",
        metavar="DIR",
        type=Path,
        help="write the dashboard into DIR (a static site: open DIR/index.html, or "
        "upload DIR as a build artifact); the summaries given are the latest build",
    )
    group.add_argument(
        "--build",
        metavar="DIR",
        type=Path,
        action="append",
        default=[],
        help="an earlier build's artifacts folder (its summary*.json and junit*.xml "
        "at any depth), named by the folder; repeat it, oldest first, for the trend, "
        "the outcome strips and what changed since the previous build",
    )
    group.add_argument(
        "--build-label",
        metavar="LABEL",
        help=f"the latest build's name on the site (default: ${ENV_BUILD}, else "
        "'latest')",
    )
    group.add_argument(
        "--last",
        metavar="N",
        type=int,
        default=30,
        help="with --history: the history's last N builds (default 30)",
    )
    group.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty DIR that no earlier dashboard wrote (same-named "
        "files are replaced, others left alone)",
    )


def requested(args: argparse.Namespace) -> bool:
    """Whether to write the dashboard; its options without --html are an error,
    not silently ignored."""
    if args.html is not None:
        return True
    given = [
        flag
        for flag, value in (
            ("--build", args.build),
            ("--build-label", args.build_label),
            ("--force", args.force),
        )
        if value
    ]
    if given:
        raise TestmatrixError(
            f"{', '.join(given)} without --html DIR: dashboard options"
        )
    return False


def run(
    args: argparse.Namespace,
    summaries: list[Path],
    expected: Sequence[tuple[str, str]] | None,
) -> int:
    """Write the site of the earlier builds and this one's summaries."""
    from testmatrix.dashboard.site import write_site
    from testmatrix.dashboard.summaries import from_summaries

    for build in args.build:
        if not build.exists():
            raise TestmatrixError(f"{build}: no such build folder (--build)")
    label = args.build_label or os.environ.get(ENV_BUILD) or "latest"
    builds: list[Path | list[Path]] = [*args.build, summaries]
    labels = [b.resolve().name for b in args.build] + [label]
    data = from_summaries(builds, labels)
    written = write_site(data, args.html, force=args.force, expected=expected or ())
    print(f"wrote {args.html / 'index.html'} ({len(written)} files)")
    return 0


def run_history(
    args: argparse.Namespace, db: str, expected: Sequence[tuple[str, str]] | None
) -> int:
    """Write the site of the history's last builds (--html DIR --history)."""
    from testmatrix.dashboard.fromhistory import from_history
    from testmatrix.dashboard.historystore import StoreSource
    from testmatrix.dashboard.site import write_site
    from testmatrix.history.store import open_store

    if args.build or args.build_label:
        raise TestmatrixError(
            "--build and --build-label name summaries' builds: with --history the "
            "builds are the history's"
        )
    if not 1 <= args.last <= 1000:
        raise TestmatrixError(f"--last {args.last}: give 1 to 1000 builds")
    store = open_store(db, create=False)
    try:
        source = StoreSource(store)
        if not source.builds(1):
            raise TestmatrixError(f"{store.name}: no build in the history to show")
        data = from_history(source, args.last)
    finally:
        store.close()
    written = write_site(data, args.html, force=args.force, expected=expected or ())
    print(f"wrote {args.html / 'index.html'} ({len(written)} files)")
    return 0
