"""vLLM's own CI files: check-vllm against the skiplists, and export --format vllm
updating test_areas mirror blocks and test-amd.yaml steps in place. Fast: in this
process, no subprocess."""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from selftest.helpers import REPO, Result
from testmatrix.cli import main

# vLLM's CI files, vendored with their notice (data/vllm/NOTICE)
REFERENCE = REPO / "tests" / "selftest" / "data" / "vllm"
AREAS = REFERENCE / "test_areas.7075df79b"
AMD = REFERENCE / "test-amd.7075df79b.yaml"
LM_EVAL = ".buildkite/lm-eval-harness/test_lm_eval_correctness.py"

AREA = textwrap.dedent(
    """\
    group: Misc
    depends_on:
      - image-build
    # a comment that must survive
    steps:
    - label: Alpha
      key: alpha
      device: h100
      commands: &alpha_cmds
        - pytest -v -s alpha --ignore=alpha/test_b.py  # b runs on its own

    - label: Beta
      key: beta
      commands:
        - pytest -v -s beta
      mirror:
        amd:
          device: mi300_1
          depends_on:
            - image-build-amd   # kept
    - label: Gamma
      key: gamma
      commands:
        - pytest gamma
    """
)
PIPELINE_AMD = textwrap.dedent(
    """\
    steps:
    - label: Alpha
      agent_pool: mi300_1
      commands:
        - pytest -v -s alpha --ignore=alpha/test_b.py
    - label: Gamma
      agent_pool: mi300_1
      commands:
        - pytest gamma --ignore=gamma/test_x.py
    """
)

# comments, an anchor shared by two steps, setup lines, a node id, a script, a `cd`
PIPELINE_AMD_RICH = textwrap.dedent(
    """\
    # the AMD pipeline: every comment here must survive
    steps:

    #---- mi300 ----#
    - label: Alpha
      agent_pool: mi300_1
      commands:
        - pip install something   # setup stays
        # the main run
        - pytest -v -s alpha --ignore=alpha/test_b.py  # b runs on its own
        - pytest -v alpha/test_b.py::test_one
    - label: Gamma
      agent_pool: mi300_1
      working_dir: "/vllm-workspace/tests"
      commands: &gamma_cmds
        - cd .. && pytest tests/gamma --ignore=tests/gamma/test_x.py
    - label: Gamma again
      agent_pool: mi300_1
      commands: *gamma_cmds
    - label: Beta
      agent_pool: mi300_1
      command: "cd .. && pytest -v tests/beta"
    - label: Script
      agent_pool: mi300_1
      commands:
        - bash run-me.sh
    """
)


def cli(cwd: Path, *args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*(str(a) for a in args)])
    finally:
        os.chdir(here)
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A checkout with three test folders, a test_areas file and test-amd.yaml,
    imported into skiplists."""
    for name in (
        "tests/alpha/test_a.py",
        "tests/alpha/test_b.py",
        "tests/beta/test_c.py",
        "tests/gamma/test_x.py",
        "tests/gamma/test_y.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    ci = tmp_path / ".buildkite"
    (ci / "test_areas").mkdir(parents=True)
    (ci / "test_areas" / "misc.yaml").write_text(AREA)
    (ci / "test-amd.yaml").write_text(PIPELINE_AMD)
    result = cli(tmp_path, "import", ci / "test_areas", ci / "test-amd.yaml")
    assert result.returncode == 0, result.output
    return tmp_path


def test_the_files_imported_agree_with_their_skiplists(small):
    ci = small / ".buildkite"
    result = cli(small, "check-vllm", ci / "test_areas", ci / "test-amd.yaml")
    assert result.returncode == 0, result.output
    assert "0 findings" in result.stdout


def test_a_drifted_amd_job_and_a_missing_twin_are_reported_with_file_and_line(small):
    ci = small / ".buildkite"
    drifted = PIPELINE_AMD.replace(
        "pytest gamma --ignore=gamma/test_x.py", "pytest gamma"
    )
    (ci / "test-amd.yaml").write_text(drifted)
    result = cli(small, "check-vllm", ci / "test_areas", ci / "test-amd.yaml", "--json")
    assert result.returncode == 1
    found = json.loads(result.stdout)["findings"]
    # an independent reading of the same file: the step of the drifted command
    steps = yaml.safe_load(drifted)["steps"]
    gamma = next(i for i, s in enumerate(steps) if s["label"] == "Gamma")
    line = drifted.splitlines().index("- label: Gamma") + 1
    assert steps[gamma]["commands"] == ["pytest gamma"]
    assert [(f["file"], f["line"], f["kind"]) for f in found] == [
        ("test-amd.yaml", line, "differs")
    ]
    assert "the session misses 1 files (tests/gamma/test_x.py)" in found[0]["message"]
    # the mirror of Beta removed: the skiplists still run beta on rocm
    (ci / "test-amd.yaml").write_text(PIPELINE_AMD)
    area = (
        AREA.split("  mirror:")[0] + "- label: Gamma" + AREA.split("- label: Gamma")[1]
    )
    (ci / "test_areas" / "misc.yaml").write_text(area)
    result = cli(small, "check-vllm", ci / "test_areas", ci / "test-amd.yaml")
    assert result.returncode == 1
    beta = area.splitlines().index("- label: Beta") + 1
    assert result.stdout.startswith(f"test_areas/misc.yaml:{beta}: job 'Beta' (cuda):")
    assert "no AMD twin" in result.stdout


def test_bad_input_is_one_line_with_file_and_line(small):
    bad = small / "bad.yaml"
    bad.write_text("steps:\n- label: x\n  commands: [unclosed\n")
    result = cli(small, "check-vllm", bad)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "bad.yaml:" in result.stderr


def test_export_writes_mirror_blocks_and_keeps_every_other_line(small):
    ci = small / ".buildkite"
    path = ci / "test_areas" / "misc.yaml"
    result = cli(
        small, "export", "--format", "vllm", ci / "test_areas", ci / "test-amd.yaml"
    )
    assert result.returncode == 0, result.output
    new = path.read_text()
    data = yaml.safe_load(new)
    beta = next(s for s in data["steps"] if s["label"] == "Beta")
    assert beta["mirror"]["amd"]["commands"] == ["nox --no-venv -s rocm-mi300-beta"]
    assert beta["mirror"]["amd"]["depends_on"] == ["image-build-amd"]
    assert "image-build-amd   # kept" in new
    # every original line is still there, in order
    old_lines = AREA.splitlines()
    it = iter(new.splitlines())
    assert all(any(line == n for n in it) for line in old_lines if "mirror" not in line)
    # and what it wrote checks clean, in both styles
    assert (
        cli(small, "check-vllm", ci / "test_areas", ci / "test-amd.yaml").returncode
        == 0
    )
    cli(small, "export", "--format", "vllm", "--style", "pytest", ci / "test_areas")
    assert (
        cli(small, "check-vllm", ci / "test_areas", ci / "test-amd.yaml").returncode
        == 0
    )


def test_export_rewrites_test_amd_commands_in_place_and_keeps_every_other_line(small):
    ci = small / ".buildkite"
    amd = ci / "test-amd.yaml"
    amd.write_text(PIPELINE_AMD_RICH)
    areas = ci / "test_areas"
    assert cli(small, "import", "--force", areas, amd).returncode == 0
    result = cli(small, "export", "--format", "vllm", areas, amd)
    assert result.returncode == 0, result.output
    new = amd.read_text()
    steps = {s["label"]: s for s in yaml.safe_load(new)["steps"]}
    # Alpha's pytest commands are the two runs of its suite: each runs its run of the
    # session from the checkout root, and goes back for the commands after it
    setup, run, node_id = steps["Alpha"]["commands"]
    assert setup == "pip install something"
    assert run.startswith("cd /vllm-workspace && nox --no-venv -s rocm-mi300-")
    assert run.endswith(" -- --testmatrix-run=1 && cd /vllm-workspace/tests")
    assert node_id.endswith(" -- --testmatrix-run=2 && cd /vllm-workspace/tests")
    # Beta ran from the root already (`cd ..`): the cd stays, the session follows
    assert steps["Beta"]["command"].startswith("cd .. && nox --no-venv -s rocm-mi300-")
    # only those two lines changed; the anchor's steps and the script are as written
    old_lines, new_lines = PIPELINE_AMD_RICH.splitlines(), new.splitlines()
    changed = [line for line in difflib.ndiff(old_lines, new_lines) if line[:1] in "-+"]
    assert [c for c in changed if c.startswith("-")] == [
        "-     - pytest -v -s alpha --ignore=alpha/test_b.py  # b runs on its own",
        "-     - pytest -v alpha/test_b.py::test_one",
        '-   command: "cd .. && pytest -v tests/beta"',
    ]
    assert len(changed) == 6 and "  # b runs on its own" in changed[2]
    assert "anchor other steps use" in result.stdout
    assert "'Script' (rocm:mi300) left as it is" in result.stdout
    assert "2 rewritten, 3 left" in result.stdout
    assert cli(small, "check-vllm", areas, amd).returncode == 0
    # the pytest style: the session's own pytest command, which checks clean too
    amd.write_text(PIPELINE_AMD_RICH)
    assert (
        cli(small, "export", "--format", "vllm", "--style", "pytest", amd).returncode
        == 0
    )
    run = yaml.safe_load(amd.read_text())["steps"][0]["commands"][1]
    assert run.startswith("cd /vllm-workspace && pytest tests/alpha ")
    check = cli(small, "check-vllm", areas, amd)
    assert check.returncode == 0, check.output


@pytest.mark.slow  # the whole real snapshot, exported and checked: full tier
def test_the_snapshot_checks_clean_and_exports_only_mirror_blocks(tmp_path):
    for line in [
        *(REFERENCE / "test-files.7075df79b.txt").read_text().split(),
        LM_EVAL,
    ]:
        (tmp_path / line).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / line).touch()
    assert cli(tmp_path, "import", AREAS, AMD).returncode == 0
    result = cli(tmp_path, "check-vllm", AREAS, AMD)
    assert result.returncode == 0, result.output
    areas, amd = tmp_path / "areas", tmp_path / AMD.name
    shutil.copytree(AREAS, areas)
    shutil.copy(AMD, amd)
    result = cli(tmp_path, "export", "--format", "vllm", areas, amd)
    assert result.returncode == 0, result.output
    # node ids are runs too now: only steps of scripts are left as they are
    assert "test-amd steps: 151 rewritten, 31 left as they are" in result.stdout
    _only_pytest_lines_changed(AMD.read_text(), amd.read_text(), 295)
    for path in sorted(AREAS.glob("*.yaml")):
        old, new = path.read_text().splitlines(), (areas / path.name).read_text()
        it = iter(new.splitlines())
        kept = [line for line in old if not _in_mirror(old, line)]
        assert all(any(line == n for n in it) for line in kept), path.name
    assert cli(tmp_path, "check-vllm", areas, amd).returncode == 0
    # the pytest style, test-amd.yaml alone
    shutil.copy(AMD, amd)
    style = ("--style", "pytest")
    assert cli(tmp_path, "export", "--format", "vllm", *style, amd).returncode == 0
    _only_pytest_lines_changed(AMD.read_text(), amd.read_text(), 295)
    result = cli(tmp_path, "check-vllm", AREAS, amd)
    assert result.returncode == 0, result.output


def _only_pytest_lines_changed(old: str, new: str, count: int) -> None:
    """Line for line: the changed lines are pytest commands, each one line."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(changed) == count
    runs = ("nox --no-venv -s rocm-", "--testmatrix-platform=rocm")
    assert all("pytest" in a and any(r in b for r in runs) for a, b in changed)


def _in_mirror(lines: list[str], line: str) -> bool:
    start = [i for i, text in enumerate(lines) if text.strip() == "mirror:"]
    index = lines.index(line)
    for s in start:
        end = s + 1
        while end < len(lines) and lines[end].startswith("    "):
            end += 1
        if s <= index < end:
            return True
    return False


AMD_OWN_STEP = """\
group: AMD
steps:
  - label: Gamma on MI355
    device: mi355_1
    depends_on:
      - image-build-amd
    commands:
      - pytest -v gamma
"""


def test_a_test_areas_step_on_amd_is_no_drift_and_needs_no_twin(small):
    ci = small / ".buildkite"
    (ci / "test_areas" / "amd.yaml").write_text(AMD_OWN_STEP)
    areas, amd = ci / "test_areas", ci / "test-amd.yaml"
    assert cli(small, "import", "--force", areas, amd).returncode == 0
    check = cli(small, "check-vllm", areas, amd)
    assert check.returncode == 0, check.output
    assert "Gamma on MI355" not in check.stdout  # no finding, no missing twin
    # read as AMD: one more AMD job that agrees, the NVIDIA jobs as they were
    assert "4 AMD jobs: 4 agree with the skiplists, 0 disagree; 3 NVIDIA jobs: 0 " in (
        check.stdout
    )
    exported = cli(small, "export", "--format", "vllm", areas)
    assert exported.returncode == 0, exported.output
    assert (areas / "amd.yaml").read_text() == AMD_OWN_STEP  # no mirror added
