"""A build's artifacts as jobs: each session's (or shard's) summary and JUnit file
paired, and plain JUnit files of jobs that do not run testmatrix, with the target
each ran on."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.gcpause import collector_paused
from ..errors import TestmatrixError
from ..jsonio import read_json
from .fromsummary import summary_results
from .junit import Result, junit_address, read_junit
from .outcomes import Outcome

MAX_FILES = 100_000  # report files in one build's artifacts
MAX_SUMMARY_BYTES = 128 * 1024 * 1024
MAX_NAME = 200  # a target's or suite's name
_SUMMARY = re.compile(r"^summary(?:-(\d+))?\.json$")
_JUNIT = re.compile(r"^junit(?:-(\d+))?\.xml$")
# a plain JUnit file of another job: any .xml file whose name says junit or test
_PLAIN = re.compile(r"(?i)^.*(junit|test).*\.xml$")


@dataclass
class Job:
    """One job's results: a session's shard, or a plain JUnit file's job."""

    source: str  # the file its tests came from (JUnit, or a summary), relative
    target: str
    suite: str
    shard: int
    results: list[Result] = field(default_factory=list)
    simulated: bool = False  # its summary says it ran on simulated hardware


@dataclass
class Artifacts:
    jobs: list[Job]
    notes: list[str]  # what was found but holds no results, said aloud


def _name(value: object, path: Path, key: str) -> str:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_NAME
        or "\0" in value
    ):
        raise TestmatrixError(
            f"{path}:1: summary's '{key}' is not a name of at most {MAX_NAME} "
            "characters"
        )
    return value


def _summary(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    if size > MAX_SUMMARY_BYTES:
        raise TestmatrixError(f"{path}: {size} bytes: too big for a summary")
    data = read_json(path, "testmatrix summary")
    if not isinstance(data, dict) or "platform" not in data or "counts" not in data:
        raise TestmatrixError(
            f"{path}:1: not a testmatrix summary (no 'platform' or 'counts')"
        )
    return data


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise TestmatrixError(f"{directory}: not a folder of build artifacts")
    found: list[Path] = []
    for folder, dirs, names in os.walk(directory):
        dirs.sort()
        for name in sorted(names):
            if _SUMMARY.match(name) or name.endswith(".xml"):
                found.append(Path(folder) / name)
                if len(found) > MAX_FILES:
                    raise TestmatrixError(
                        f"{directory}: over {MAX_FILES} report files: not one build"
                    )
    return found


def read_artifacts(
    directory: Path, target: str | None, pools: Mapping[str, str]
) -> Artifacts:
    """Every job in a build's artifacts folder. `target` names the target of plain
    JUnit files; else `pools` (agent-pool pattern -> target) read from their path."""
    with collector_paused():
        return _read_artifacts(directory, target, pools)


def _read_artifacts(
    directory: Path, target: str | None, pools: Mapping[str, str]
) -> Artifacts:
    jobs: list[Job] = []
    notes: list[str] = []
    files = _files(directory)
    listed = set(files)  # every summary and JUnit file here: no stat to ask
    for path in files:
        found = _SUMMARY.match(path.name)
        if found:
            suffix = f"-{found.group(1)}" if found.group(1) else ""
            junit = path.with_name(f"junit{suffix}.xml")
            summary = _summary(path)
            if junit not in listed and "results" not in summary:
                rel = path.relative_to(directory).as_posix()
                notes.append(
                    f"{rel}: no {junit.name} beside it: its tests are not recorded"
                )
                continue
            jobs.append(_session_job(summary, path, junit, directory))
        elif _JUNIT.match(path.name):
            beside = path.with_name(
                path.name.replace("junit", "summary")[:-4] + ".json"
            )
            if beside not in listed:
                jobs.append(_plain_job(path, directory, target, pools))
        elif _PLAIN.match(path.name):
            jobs.append(_plain_job(path, directory, target, pools))
    if not jobs:
        raise TestmatrixError(
            f"{directory}: no reports here (reports/<session>/summary.json with "
            "junit.xml, or JUnit files): nothing to record"
        )
    return Artifacts(jobs, notes)


def _session_job(
    summary: dict[str, Any], summary_path: Path, junit: Path, directory: Path
) -> Job:
    """A testmatrix session's shard: target, suite and shard from its summary, and
    its tests' results (`session_results`)."""
    target = _name(
        summary.get("target") or summary.get("platform"), summary_path, "target"
    )
    suite = _name(summary.get("suite") or "-", summary_path, "suite")
    shard = summary.get("shard") or {}
    shard_id = shard.get("id", 0) if isinstance(shard, dict) else 0
    if not isinstance(shard_id, int) or not 0 <= shard_id < 1_000_000:
        raise TestmatrixError(f"{summary_path}:1: summary's shard id is not a number")
    results = session_results(summary, summary_path, junit)
    source = summary_path if "results" in summary else junit
    rel = source.relative_to(directory).as_posix()
    simulated = summary.get("simulated") is True
    return Job(rel, target, suite, shard_id, results, simulated)


def session_results(
    summary: dict[str, Any], summary_path: Path, junit: Path
) -> list[Result]:
    """A session's (or shard's) tests: from its summary's `results` where the plugin
    wrote them, else from its JUnit file, each test's id the one pytest reported
    (the summary's durations say it where JUnit's address misleads) and a pass
    after a rerun told by the summary's `flaky` (pytest's JUnit does not say)."""
    flaky = summary.get("flaky") or []
    durations = summary.get("durations") or {}
    if not isinstance(flaky, list) or not isinstance(durations, dict):
        raise TestmatrixError(
            f"{summary_path}:1: summary's 'flaky' or 'durations' has the wrong shape"
        )
    reran = {n for n in flaky if isinstance(n, str)}
    if "results" in summary:
        return summary_results(summary["results"], durations, reran, summary_path)
    exact: dict[tuple[str, str], str] | None = None
    results: list[Result] = []
    attempts: set[tuple[Any, ...]] = set()  # a rerun test's results so far
    for result in read_junit(junit):
        nodeid = result.nodeid
        if nodeid not in durations:  # a class named like a module: ask the summary
            if exact is None:  # the exact ids pytest reported, by their JUnit address
                exact = {junit_address(i): i for i in durations if isinstance(i, str)}
            nodeid = exact.get(junit_address(nodeid), nodeid)
            result = result._replace(nodeid=nodeid)
        if nodeid in reran:
            if result.outcome is Outcome.PASSED:
                result = result._replace(outcome=Outcome.RERUN_PASSED)
            if result[:5] in attempts:  # an attempt's own testcase (its duration
                continue  # aside), which pytest-rerunfailures 16 has junitxml write
            attempts.add(result[:5])
        results.append(result)
    return results


def _plain_job(
    path: Path, directory: Path, target: str | None, pools: Mapping[str, str]
) -> Job:
    """A JUnit file with no summary: its target from its tests' testmatrix_target,
    --target, or an agent pool its path names; its suite is its folder's name."""
    rel = path.relative_to(directory)
    results = read_junit(path)
    said = {r.target for r in results if r.target}
    if len(said) == 1:
        chosen = said.pop()
    elif target:
        chosen = target
    else:
        chosen = target_from_path(rel.as_posix(), pools, path)
    found = _JUNIT.match(path.name)
    shard = int(found.group(1)) if found and found.group(1) else 0
    suite = rel.parent.as_posix() if rel.parent.as_posix() != "." else path.stem
    return Job(rel.as_posix(), chosen[:MAX_NAME], suite[:MAX_NAME], shard, results)


def target_from_path(rel: str, pools: Mapping[str, str], path: Path) -> str:
    """The target whose agent pool (mi300_{gpus}) or name a path's parts name."""
    found = {
        target
        for pattern, target in pools.items()
        if re.search(rf"(?<![A-Za-z0-9_]){pattern}(?![A-Za-z0-9_])", rel)
    }
    # a variant's pool is more precise than its platform's name (rocm-mi300-...)
    found = {t for t in found if not any(o.startswith(f"{t}:") for o in found)}
    if len(found) == 1:
        return found.pop()
    if found:
        which = ", ".join(sorted(found))
        raise TestmatrixError(
            f"{path}: its path names the agent pools of several targets ({which}): "
            "pass --target"
        )
    raise TestmatrixError(
        f"{path}: a JUnit file with no summary and no target: pass --target, or "
        "name the job's agent pool (as the skiplists' buildkite agents say) in its path"
    )


def agent_pools(workspace: Any) -> dict[str, str]:
    """{pattern: target} from the skiplists: each target's own Buildkite agents and
    queue ({gpus} matching any count), its name, and a variant's name alone."""
    pools: dict[str, str] = {}
    for target in workspace.targets():
        own = target.variant or target.platform  # not what a variant inherits
        values = [*(own.buildkite.agents or {}).values(), own.buildkite.queue]
        names = [target.name] + ([target.variant.name] if target.variant else [])
        for value in values:
            if isinstance(value, str) and value:
                pattern = re.escape(value).replace(re.escape("{gpus}"), r"\d+")
                pools.setdefault(pattern, target.name)
        for name in names:
            pools.setdefault(re.escape(name), target.name)
    return pools
