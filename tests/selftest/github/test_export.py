"""`testmatrix export --format github`: a workflow GitHub's schema accepts, one job per
session with its settings, drift reported, hand-written files left alone."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from selftest.github.hostile import ATTACK, files
from selftest.github.replay import EXPRESSION
from selftest.helpers import REPO
from testmatrix import cli
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import sessions
from testmatrix.github.export import HEADER, MARK, render
from testmatrix.github.workflow import MATRIX_JOB

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "data/github/github-workflow.json").read_text()
)
WS = load_workspace(REPO)
# the only expressions testmatrix writes; any other came from a skiplist
WRITTEN = {
    "'${{'",
    "matrix.shard",
    "github.workflow",
    "github.ref",
    "!cancelled()",  # a suite's later runs run after a failed one
}


def schema_errors(workflow: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [e.message for e in validator.iter_errors(workflow)]


def exported(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(
                ["--root", str(root), "export", "--format", "github", *args]
            )
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def strings(value: object):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.fixture
def hostile(tiny) -> Path:
    return tiny(files())


def test_the_bundled_workflow_passes_githubs_schema_and_a_broken_one_fails():
    workflow = yaml.safe_load(render(WS))
    assert schema_errors(workflow) == []
    for key, value in (("timeout-minutes", "an hour"), ("runs-off", "typo")):
        broken = copy.deepcopy(workflow)
        broken["jobs"]["rocm-pooling"][key] = value
        assert schema_errors(broken), key


def test_the_hostile_workflow_passes_the_schema_and_holds_no_expression_of_its_own(
    hostile,
):
    workflow = yaml.safe_load(render(load_workspace(hostile)))
    assert schema_errors(workflow) == []
    found = {
        m.group(1).strip()
        for text in strings(workflow)
        for m in EXPRESSION.finditer(text)
    }
    assert found <= WRITTEN, found - WRITTEN
    assert any(ATTACK.split("${{")[0] in text for text in strings(workflow))


def test_one_job_per_session_then_the_matrix_job_after_all_of_them():
    jobs = yaml.safe_load(render(WS))["jobs"]
    assert list(jobs) == [*sessions(WS), MATRIX_JOB]
    last = jobs[MATRIX_JOB]
    assert last["if"] == "always()" and last["needs"] == list(sessions(WS))
    run = "\n".join(step.get("run", "") for step in last["steps"])
    assert "python -m testmatrix report --expected --allow-empty -o matrix.md" in run
    assert "python -m pip install ." in run  # testmatrix's own checkout
    assert 'cat matrix.md >> "$GITHUB_STEP_SUMMARY"' in run


def test_job_settings_merge_from_workspace_to_suite():
    jobs = yaml.safe_load(render(WS))["jobs"]
    mi355 = jobs["rocm-mi355-kernels-multi-gpu"]
    assert mi355["runs-on"] == ["self-hosted", "linux", "gfx950", "gpus-2"]
    assert jobs["cuda-pooling"]["runs-on"] == ["self-hosted", "linux", "cuda", "gpus-1"]
    assert jobs["rocm-api-server"]["timeout-minutes"] == 130
    assert jobs["rocm-api-server"]["env"]["VLLM_WORKER_MULTIPROC_METHOD"] == "spawn"
    assert jobs["rocm-pooling"]["timeout-minutes"] == 60
    language = jobs["rocm-language"]
    assert language["strategy"] == {"fail-fast": False, "matrix": {"shard": [0, 1]}}
    upload = language["steps"][-1]
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "testmatrix-rocm-language-${{ matrix.shard }}"
    assert upload["with"]["path"] == "reports/rocm-language/"
    assert jobs[MATRIX_JOB]["runs-on"] == ["ubuntu-latest"]


def test_export_writes_then_check_passes_until_the_skiplists_change(workspace):
    code, out, _ = exported(workspace)
    target = workspace / ".github/workflows/testmatrix.yml"
    assert code == 0 and out == f"wrote {target}\n"
    assert target.read_text().startswith(HEADER)
    assert exported(workspace, "--check")[0] == 0
    suites = workspace / "skiplists/suites.toml"
    suites.write_text(
        suites.read_text().replace("timeout_minutes = 130", "timeout_minutes = 90")
    )
    code, diff, err = exported(workspace, "--check")
    assert code == 1
    assert "-    timeout-minutes: 130\n+    timeout-minutes: 90\n" in diff
    assert "does not match the skiplists" in err


def test_a_hand_written_workflow_is_never_overwritten(workspace):
    target = workspace / ".github/workflows/testmatrix.yml"
    target.parent.mkdir(parents=True)
    target.write_text("name: mine\n")
    code, _, err = exported(workspace)
    assert code == 2 and target.read_text() == "name: mine\n"
    assert err.strip() == (
        f"testmatrix: error: {target}: not written by testmatrix (its first line "
        f"is not {MARK!r}); not overwritten: move it or give another -o"
    )


def test_stdout_and_paths_refused(workspace):
    code, out, _ = exported(workspace, "-o", "-")
    assert code == 0 and out.startswith(HEADER)
    code, _, err = exported(workspace, "some/path")
    assert code == 2 and "export --format github takes no PATH arguments" in err


def test_a_suite_of_several_runs_is_one_job_with_a_step_per_run(workspace):
    suites = workspace / "skiplists" / "suites.toml"
    suites.write_text(
        suites.read_text() + '\n[suites.job]\nruns = [\n  { path = "tests/kernels" },\n'
        '  { path = "tests/models", env = { ONLY = "2" } },\n]\n'
    )
    ws = load_workspace(workspace)
    workflow = yaml.safe_load(render(ws))
    assert schema_errors(workflow) == []
    every = workflow["jobs"]["cuda-job"]["steps"]
    steps = [s for s in every if "pytest" in s.get("name", "")]
    assert [s["name"] for s in steps] == ["pytest run 1", "pytest run 2"]
    assert "if" not in steps[0] and steps[1]["if"] == "${{ !cancelled() }}"
    assert steps[1]["env"] == {"ONLY": "2"} and "env" not in steps[0]
    assert "--testmatrix-run=2" in steps[1]["run"]
