"""Generated build histories for the history tests: what each job of each build ran,
written as a Buildkite build's artifacts (testmatrix summaries and JUnit files, and
plain JUnit files of jobs without testmatrix), with the truth of every query
computed from the generated data alone."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from testmatrix.plugin.summary import results_block

NEED_GPUS = "Need at least 4 GPUs"
FAIL = "AssertionError: assert 1 == 2"
# entries: location -> (kind, reason, issue)
ENTRIES = {
    "skiplists/platforms/rocm.toml:10": (
        "skip",
        "encoder models unsupported",
        "https://x/1",
    ),
    "skiplists/platforms/rocm.toml:20": (
        "skip",
        "expects NotImplementedError",
        "https://x/2",
    ),
    "skiplists/platforms/rocm.toml:30": ("flaky", "timing-dependent", ""),
    "skiplists/platforms/rocm.toml:40": ("skip", "test removed later", ""),
    "skiplists/platforms/rocm.toml:50": ("skip", "never runs anywhere", ""),
}
E_SKIP, E_XFAIL, E_FLAKY, E_GONE, E_NOWHERE = ENTRIES
# the order a build's worst outcome follows where several jobs ran one test
SEVERITY = [
    "error",
    "failed",
    "fails_differently",
    "unexpected_pass",
    "rerun_passed",
    "passed",
    "expected_fail",
    "skipped_in_code",
    "skipped_by_entry",
]
PASSED = {"passed", "rerun_passed", "unexpected_pass"}
FAILED = {"failed", "error", "expected_fail", "fails_differently"}
RED = {"failed", "error", "fails_differently", "unexpected_pass"}
SKIPS = {"skipped_by_entry", "skipped_in_code"}


@dataclass
class Res:
    nodeid: str
    outcome: str
    entry: str | None = None
    message: str = ""
    duration: float = 0.5


@dataclass
class JobSpec:
    target: str
    suite: str
    shard: int | None  # None: not sharded
    plain: bool  # a plain JUnit job (no testmatrix)
    folder: str
    results: list[Res] = field(default_factory=list)


@dataclass
class BuildSpec:
    name: str
    commit: str
    date: str
    jobs: list[JobSpec] = field(default_factory=list)


def _outcome(rng: random.Random, scenario: str, target: str, n: int) -> Res | None:
    """One test's result in build n on a target, by its scenario."""
    rocm = target.startswith("rocm")
    if scenario == "stable":
        return Res("", "passed", duration=0.1)
    if scenario == "breaks":
        return Res("", "failed", message=FAIL) if n >= 5 and rocm else Res("", "passed")
    if scenario == "fixed":
        return Res("", "failed", message=FAIL) if n < 6 else Res("", "passed")
    if scenario == "flaky":
        return (
            Res("", "passed") if rng.random() < 0.5 else Res("", "failed", message=FAIL)
        )
    if scenario == "rerun":
        return Res("", "rerun_passed" if n % 4 == 1 else "passed")
    if scenario == "selfskip":
        if target == "rocm:mi300":
            return Res("", "skipped_in_code", message=NEED_GPUS)
        return Res("", "passed")
    if scenario == "vanish":
        if n >= 7:
            return None
        if target == "rocm:mi300":
            return Res(
                "", "skipped_by_entry", entry=E_GONE, message="test removed later"
            )
        return None
    if scenario == "returns":  # gone for a while, then back
        return (
            None
            if 3 <= n < 10
            else Res("", "passed" if n < 3 else "failed", message=FAIL)
        )
    if scenario == "appears":
        return None if n < 5 else Res("", "passed")
    if scenario == "entry_skip":
        if rocm:
            return Res(
                "",
                "skipped_by_entry",
                entry=E_SKIP,
                message="encoder models unsupported",
            )
        return Res("", "passed")
    if scenario == "xfail":
        if target != "rocm:mi355":
            return Res("", "passed")
        outcome = "unexpected_pass" if n >= 9 else "expected_fail"
        return Res("", outcome, entry=E_XFAIL, message="NotImplementedError: nope")
    if scenario == "differs":
        if target != "rocm:mi355":
            return Res("", "passed")
        if n >= 10:
            return Res(
                "", "fails_differently", entry=E_XFAIL, message="ValueError: other"
            )
        return Res(
            "", "expected_fail", entry=E_XFAIL, message="NotImplementedError: nope"
        )
    if scenario == "flaky_entry":
        if target == "rocm:mi300":
            return Res("", "passed", entry=E_FLAKY)
        if target == "rocm:mi355":
            return Res("", "rerun_passed" if n == 11 else "passed", entry=E_FLAKY)
        return Res("", "passed")
    if scenario == "nowhere":
        if rocm:
            return Res(
                "", "skipped_by_entry", entry=E_NOWHERE, message="never runs anywhere"
            )
        return Res("", "skipped_in_code", message="no such kernel")
    if scenario == "error":
        return (
            Res("", "error", message="RuntimeError: fixture broke")
            if target == "cuda"
            else Res("", "passed")
        )
    if scenario == "slow":
        return Res("", "passed", duration=6.0 if n >= 8 else 2.0)
    raise AssertionError(scenario)


SCENARIOS = (
    "stable",
    "breaks",
    "fixed",
    "flaky",
    "rerun",
    "selfskip",
    "vanish",
    "appears",
    "entry_skip",
    "xfail",
    "differs",
    "flaky_entry",
    "nowhere",
    "error",
    "slow",
    "returns",
)
TARGETS = ("rocm:mi300", "rocm:mi355", "cuda")
# plain JUnit jobs of cuda live under its agent queue's name (skiplists: gpu-h100)
PLAIN_FOLDER = "gpu-h100-{suite}"


def generate(seed: int = 1, builds: int = 12, per_scenario: int = 2) -> list[BuildSpec]:
    """A history: two suites, three targets (cuda's jobs plain JUnit, rocm:mi300's
    'lang' sharded in two), one test in two suites, and a rebuild of one commit."""
    rng = random.Random(seed)
    tests = []
    for scenario in SCENARIOS:
        for k in range(per_scenario):
            suite = "lang" if k % 2 == 0 else "kern"
            path = f"tests/{suite}/test_{scenario}.py"
            name = f"test_{scenario}_{k}[model-{k}]" if k else f"test_{scenario}_{k}"
            tests.append(
                (
                    f"{path}::TestCase::{name}" if k == 1 else f"{path}::{name}",
                    suite,
                    scenario,
                )
            )
    out = []
    for n in range(builds):
        commit = f"c{n:03d}" if n != 4 else "c003"  # build 4 rebuilds build 3's commit
        build = BuildSpec(f"{100 + n}", commit, f"2026-03-{n + 1:02d}T04:00:00+00:00")
        for target in TARGETS:
            plain = target == "cuda"
            for suite in ("lang", "kern"):
                shards = (
                    [0, 1] if (target == "rocm:mi300" and suite == "lang") else [None]
                )
                session = f"{target.replace(':', '-')}-{suite}"
                folder = (
                    PLAIN_FOLDER.format(suite=suite) if plain else f"reports/{session}"
                )
                jobs = {s: JobSpec(target, suite, s, plain, folder) for s in shards}
                for nodeid, test_suite, scenario in tests:
                    if test_suite != suite:
                        continue
                    res = _outcome(rng, scenario, target, n)
                    if res is None:
                        continue
                    if plain and res.entry is not None:  # no testmatrix: no entries
                        res = Res("", "passed")
                    res.nodeid = nodeid
                    shard = shards[sum(map(ord, nodeid)) % len(shards)]
                    jobs[shard].results.append(res)
                build.jobs += jobs.values()
        # one test also runs in a second suite on mi355; its jobs disagree in build 7
        extra = JobSpec("rocm:mi355", "extra", None, False, "reports/rocm-mi355-extra")
        nodeid = "tests/lang/test_stable.py::test_stable_0"
        extra.results.append(
            Res(nodeid, "failed" if n == 7 else "passed", message=FAIL)
        )
        build.jobs.append(extra)
        out.append(build)
    return out


# ---- writing a build's artifacts -----------------------------------------------


def junit_address(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest's JUnit writer builds them."""
    parts = nodeid.split("::")
    module = parts[0][: -len(".py")].replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1]


def _record(job: JobSpec, res: Res) -> dict[str, str]:
    """The test's testmatrix record: its JUnit properties, unprefixed."""
    fate = {"skipped_by_entry": "skipped"}.get(res.outcome, "runs")
    if res.entry and res.outcome in (
        "expected_fail",
        "unexpected_pass",
        "fails_differently",
    ):
        fate = "expected-fail"
    values = {"fate": fate, "target": job.target}
    if res.entry:
        kind, reason, issue = ENTRIES[res.entry]
        if kind == "flaky":
            values["rerun"] = f"{reason} (no issue link) [{res.entry}]"
        else:
            values.update(entry=res.entry, entry_kind=kind, reason=reason, issue=issue)
    return {k: v for k, v in values.items() if v}


def _said(job: JobSpec, res: Res) -> tuple[str, str | None, str] | None:
    """The testcase's result element: (tag, type, message), None where it passed."""
    o = res.outcome
    if o == "failed":
        return "failure", None, res.message
    if o == "error":
        return "error", None, res.message
    if o in ("skipped_by_entry", "skipped_in_code"):
        return "skipped", "pytest.skip", res.message
    if o == "expected_fail":
        message = f"expected on {job.target}: {res.message} [{res.entry}]"
        return "skipped", "pytest.xfail", message
    if o == "unexpected_pass":
        return (
            "failure",
            None,
            (
                f"{res.nodeid} passes on {job.target}, but [{res.entry}] expects it to "
                "fail with NotImplementedError: the entry is stale, remove it"
            ),
        )
    if o == "fails_differently":
        return (
            "failure",
            None,
            (
                f"{res.nodeid} fails differently on {job.target}: expected "
                f"NotImplementedError [{res.entry}], got {res.message}"
            ),
        )
    return None


def _testcase(parent: ET.Element, job: JobSpec, res: Res) -> None:
    classname, name = junit_address(res.nodeid)
    case = ET.SubElement(
        parent, "testcase", classname=classname, name=name, time=f"{res.duration:.3f}"
    )
    if not job.plain:
        props = ET.SubElement(case, "properties")
        for key, value in _record(job, res).items():
            ET.SubElement(props, "property", name=f"testmatrix_{key}", value=value)
    said = _said(job, res)
    if said is not None:
        tag, kind, message = said
        element = ET.SubElement(case, tag, message=message)
        if kind is not None:
            element.set("type", kind)
        if tag != "skipped":
            element.text = "trace"
        elif kind == "pytest.skip":
            element.text = f"{res.nodeid}:1: {message}"
    elif res.outcome == "rerun_passed" and job.plain:
        ET.SubElement(case, "rerunFailure", message=FAIL)


def _results(job: JobSpec) -> dict[str, object]:
    """The summary's `results`, written by the plugin's own writer."""
    tests = ((r.nodeid, _said(job, r), _record(job, r)) for r in job.results)
    return results_block(tests, {})


def write_build(build: BuildSpec, directory: Path, *, results: bool = False) -> Path:
    """The build's artifacts under `directory`, as `buildkite-agent artifact download`
    leaves them; with `results`, each summary has its `results` (as the plugin
    writes them since they came) and `history ingest` reads those, not the JUnit."""
    for job in build.jobs:
        folder = directory / job.folder
        folder.mkdir(parents=True, exist_ok=True)
        suffix = "" if job.shard is None else f"-{job.shard}"
        root = ET.Element("testsuites", name="pytest tests")
        suite = ET.SubElement(
            root, "testsuite", name="pytest", tests=str(len(job.results))
        )
        for res in job.results:
            _testcase(suite, job, res)
        ET.ElementTree(root).write(
            folder / f"junit{suffix}.xml", encoding="utf-8", xml_declaration=True
        )
        if job.plain:
            continue
        summary = {
            "platform": job.target.split(":")[0],
            "variant": job.target.split(":")[1] if ":" in job.target else None,
            "target": job.target,
            "suite": job.suite,
            "counts": {"passed": sum(r.outcome == "passed" for r in job.results)},
            "exitstatus": int(any(r.outcome in RED for r in job.results)),
            "shard": None if job.shard is None else {"id": job.shard, "count": 2},
            "flaky": sorted(
                r.nodeid for r in job.results if r.outcome == "rerun_passed"
            ),
            "durations": {r.nodeid: r.duration for r in job.results},
        }
        if results:
            summary["results"] = _results(job)
        (folder / f"summary{suffix}.json").write_text(json.dumps(summary))
    return directory


# ---- truth, from the generated data alone ------------------------------------


def combined(build: BuildSpec) -> dict[tuple[str, str], list[Res]]:
    """(target, test) -> the results of every job of the build that ran it."""
    out: dict[tuple[str, str], list[Res]] = {}
    for job in build.jobs:
        for res in job.results:
            out.setdefault((job.target, res.nodeid), []).append(res)
    return out


def worst(results: list[Res]) -> Res:
    return min(results, key=lambda r: SEVERITY.index(r.outcome))


def sequences(
    history: list[BuildSpec],
) -> dict[tuple[str, str], list[tuple[int, list[Res]]]]:
    """(target, test) -> [(build index, its jobs' results)], oldest first."""
    out: dict[tuple[str, str], list[tuple[int, list[Res]]]] = {}
    for n, build in enumerate(history):
        for key, results in combined(build).items():
            out.setdefault(key, []).append((n, results))
    return out


def target_builds(history: list[BuildSpec], target: str) -> list[int]:
    return [n for n, b in enumerate(history) if any(j.target == target for j in b.jobs)]
