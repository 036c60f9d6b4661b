"""The vLLM import as one workflow: read, plan, stage, prove, then publish or refuse.

Nothing replaces a skiplist file until the staged files load and every command's
proof is in; the CLI only prints what `import_ci` returns.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testmatrix.config import writer as skiplist_writer
from testmatrix.config.loader import load_workspace
from testmatrix.core.runs import expand
from testmatrix.errors import ConfigError, TestmatrixError
from testmatrix.vllm import jobs as vllmjobs
from testmatrix.vllm import jobsuites, planmodel, planreport
from testmatrix.vllm import plan as importplan
from testmatrix.vllm import proof as importproof
from testmatrix.vllm import skiplists as vllm_skiplists


@dataclass
class Imported:
    """What an import read, planned, proved and wrote."""

    reading: vllmjobs.Reading
    plan: planmodel.ImportPlan
    results: list[importproof.Result]
    totals: dict[str, int]
    refused: bool
    seconds: float
    written: list[Path] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return planreport.counts(self.plan.instances)

    def as_json(self) -> dict[str, Any]:
        counts, dropped = self.counts, planreport.dropped_flags(self.plan)
        return {
            "checkout_root": self.plan.checkout_root,
            "files": [vars(f) for f in self.reading.files],
            "notes": self.plan.notes,
            "commands": [r.as_dict() for r in self.results],
            "flags": planreport.flag_records(self.plan),
            "totals": {
                **self.totals,
                "suites": len(self.plan.suites),
                **jobsuites.shape(self.plan.jobs, list(self.plan.suites.values())),
                "flags": sum(counts.values()),
                "excludes": counts["exclude"],
                "ignores": counts["ignore"],
                "dropped": counts["dropped"],
                "output_flags_dropped": dict(dropped.most_common()),
                "seconds": round(self.seconds, 3),
            },
            "written": [str(p) for p in self.written],
        }

    def lines(self, reader_lines: Sequence[str] = ()) -> list[str]:
        """The report; `reader_lines` (what a reader could not read) after the
        job notes."""
        plan, totals, counts = self.plan, self.totals, self.counts
        out = [f"note: {n}" for n in plan.notes]
        out += [*planreport.job_notes(plan), *reader_lines]
        out += planreport.flag_lines(plan)
        out += importproof.step_lines(self.results)
        dropped = planreport.dropped_flags(plan)
        if dropped:
            each = ", ".join(f"{flag} x{n}" for flag, n in dropped.most_common())
            out.append(
                "dropped output-only flags (they change what pytest prints or when "
                f"it stops, never what it selects): {each}"
            )
        out += [f"wrote {path}" for path in self.written]
        out += [
            f"read {f.path}: {f.steps} steps, {f.jobs} jobs, {f.pytest} pytest "
            f"commands, {f.flags} --ignore/--deselect flags"
            for f in self.reading.files
        ]
        shape = jobsuites.shape(plan.jobs, list(plan.suites.values()))
        out.append(
            f"testmatrix import: {totals['pytest_commands']} pytest commands: "
            f"{totals['exact']} exact, {totals['different']} different, "
            f"{totals['not_mapped']} not mapped; {totals['other_commands']} other "
            f"commands; {len(plan.suites)} suites for {shape['steps']} steps, "
            f"{shape['twin_suites']} twins; flags: {counts['exclude']} "
            f"excludes, {counts['ignore']} platform ignores, {counts['dropped']} "
            f"match nothing; {self.seconds:.2f} s"
        )
        return out


class NothingMapped(TestmatrixError):
    """No command became a suite: the error, with each command's proof."""

    def __init__(self, message: str, results: list[importproof.Result]):
        super().__init__(message)
        self.results = results
        self.lines = importproof.step_lines(results)


def _cannot_write(exc: OSError, skiplist_dir: Path) -> TestmatrixError:
    where = exc.filename or skiplist_dir
    return TestmatrixError(f"{where}: cannot write: {exc.strerror}")


def _prove_staged(
    plan: planmodel.ImportPlan, staged: Path, skiplist_dir: Path, checkout: Path
) -> list[importproof.Result]:
    """Load the staged files as a workspace and prove every command against it; the
    staging goes if anything fails."""
    try:
        workspace = load_workspace(checkout, staged)
        return importproof.prove(plan, workspace, checkout)
    except ConfigError as exc:  # the plan wrote what the loader refuses: a bug
        shutil.rmtree(staged, ignore_errors=True)
        message = str(exc).replace(str(staged), str(skiplist_dir))
        message = message.replace(os.path.relpath(staged), str(skiplist_dir))
        raise TestmatrixError(message) from None
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def import_ci(
    reading: vllmjobs.Reading,
    paths: list[Path],
    skiplist_dir: Path,
    *,
    checkout_root: str | None,
    allow_partial: bool,
    force: bool,
    after_plan: Callable[[planmodel.ImportPlan], None] | None = None,
) -> Imported:
    """Import CI jobs a reader read from `paths` (vLLM's files, a plain pipeline, a
    workflow) into `skiplist_dir`, written only once proven. `after_plan` may add
    the reader's notes to the plan."""
    started = time.perf_counter()
    checkout = skiplist_dir.resolve().parent
    known: dict[str, bool] = {}

    def exists(rel: str) -> bool:
        if rel not in known:
            known[rel] = (checkout / rel).exists()
        return known[rel]

    plan = importplan.plan(
        reading.jobs,
        exists=exists,
        checkout_root=checkout_root,
        allow_partial=allow_partial,
        glob=lambda rel: [p for p in expand(checkout, rel) if p != rel],
    )
    if after_plan is not None:
        after_plan(plan)
    if not plan.suites:
        raise NothingMapped(
            f"{' and '.join(map(str, paths))}: no pytest command maps to a suite; "
            "nothing written",
            importproof.prove(plan, None, checkout),
        )
    files = vllm_skiplists.render_plan(plan, " and ".join(str(p) for p in paths))
    clash = skiplist_writer.existing(skiplist_dir, files)
    if clash and not force:
        raise TestmatrixError(
            "\n".join(
                f"{p}: already exists; pass --force to overwrite it" for p in clash
            )
        )
    try:
        staged = skiplist_writer.stage(skiplist_dir, files)
    except OSError as exc:
        raise _cannot_write(exc, skiplist_dir) from None
    results = _prove_staged(plan, staged, skiplist_dir, checkout)
    totals = importproof.totals(results)
    refused = totals["different"] > 0 and not allow_partial
    written: list[Path] = []
    if refused:
        shutil.rmtree(staged, ignore_errors=True)
    else:
        try:
            written = skiplist_writer.publish(staged, skiplist_dir, files)
        except OSError as exc:
            shutil.rmtree(staged, ignore_errors=True)
            raise _cannot_write(exc, skiplist_dir) from None
    seconds = time.perf_counter() - started
    return Imported(reading, plan, results, totals, refused, seconds, written)
