"""export --format vllm never drops an AMD job that runs tests without saying so and
--force; check-vllm --baseline finds AMD coverage lost since an earlier version of
vLLM's CI files (issue 20). In process, on small checkouts and vLLM's own files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from selftest.vllm import test_format as test_vllm_format
from selftest.vllm.test_format import AMD, AREAS, REFERENCE, cli

small = test_vllm_format.small  # the fixture: a checkout with three test folders

SAMPLERS = AREAS / "samplers.yaml"


def runs_only_on_cuda(root: Path, suite: str) -> None:
    suites = root / "skiplists" / "suites.toml"
    text = suites.read_text()
    start = text.index(f"[suites.{suite}]")
    table_end = text.find("\n[", start + 1)
    end = text.find("platforms = ", start, None if table_end < 0 else table_end)
    if end < 0:  # the suite takes its platforms from its group: say its own
        header_end = text.index("\n", start)
        own = '\nplatforms = ["cuda"]\nplatforms_reason = "a test: cuda only"'
        suites.write_text(text[:header_end] + own + text[header_end:])
        return
    line_end = text.index("\n", end)
    suites.write_text(text[:end] + 'platforms = ["cuda"]' + text[line_end:])


def test_removing_an_amd_job_that_runs_tests_is_refused_naming_it(small):
    runs_only_on_cuda(small, "beta")  # the Beta step's AMD twin runs pytest beta
    area = small / ".buildkite" / "test_areas" / "misc.yaml"
    before = area.read_text()
    result = cli(small, "export", "--format", "vllm", area.parent)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "testmatrix: error: test_areas/misc.yaml:17: AMD job 'Beta' (rocm:mi300) runs "
        "1 pytest commands, but none of its suites has a rocm session: export "
        "removes its mirror: amd: block",
        "testmatrix: error: 1 AMD jobs would lose tests they run; nothing written "
        "(--force removes them)",
    ]
    assert area.read_text() == before  # nothing written, Alpha's new block neither
    forced = cli(small, "export", "--format", "vllm", "--force", area.parent)
    assert forced.returncode == 0, forced.output
    assert forced.stdout.startswith(
        "removed (--force): test_areas/misc.yaml:17: AMD job 'Beta' (rocm:mi300)"
    )
    steps = {s["label"]: s for s in yaml.safe_load(area.read_text())["steps"]}
    assert "mirror" not in steps["Beta"] and "amd" in steps["Alpha"]["mirror"]


@pytest.fixture
def samplers(tmp_path: Path) -> Path:
    """A checkout with vLLM's samplers tests and its test_areas file, imported."""
    for line in (REFERENCE / "test-files.7075df79b.txt").read_text().split():
        if line.startswith("tests/samplers/"):
            (tmp_path / line).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / line).touch()
    areas = tmp_path / ".buildkite" / "test_areas"
    areas.mkdir(parents=True)
    shutil.copy(SAMPLERS, areas)
    assert cli(tmp_path, "import", areas).returncode == 0
    return tmp_path


def test_an_amd_block_with_commands_of_its_own_gets_their_sessions(samplers):
    """vLLM's samplers step: NVIDIA runs two sessions with FlashInfer pinned, which
    run nowhere on rocm; its AMD job runs a plain `pytest -v -s samplers` of its own.
    The block becomes that command's session, not nothing."""
    areas = samplers / ".buildkite" / "test_areas"
    result = cli(samplers, "export", "--format", "vllm", areas)
    assert result.returncode == 0, result.output
    [step] = yaml.safe_load((areas / "samplers.yaml").read_text())["steps"]
    amd = step["mirror"]["amd"]
    assert amd["commands"] == ["nox --no-venv -s rocm-mi325-samplers-rocm"]
    assert amd["depends_on"] == ["image-build-amd"] and amd["device"] == "mi325_1"
    assert cli(samplers, "check-vllm", areas).returncode == 0


def test_an_amd_job_whose_own_tests_have_no_session_is_left_as_it_is(samplers):
    runs_only_on_cuda(samplers, "samplers-rocm")
    areas = samplers / ".buildkite" / "test_areas"
    result = cli(samplers, "export", "--format", "vllm", areas)
    assert result.returncode == 0, result.output
    assert (areas / "samplers.yaml").read_bytes() == SAMPLERS.read_bytes()
    assert result.stdout.startswith(
        "note: test_areas/samplers.yaml:5: step 'Samplers Test' left as it is: line "
        "24 maps to no suite (no suite with paths tests/samplers has a session on "
        "rocm:mi325"
    )


# -- check-vllm --baseline ---------------------------------------------------------


def drop_step(path: Path, label: str) -> None:
    """The file without one step (its lines, from its `- label:` to the next)."""
    lines = path.read_text().splitlines(keepends=True)
    start = next(
        i for i, line in enumerate(lines) if line.startswith(f"- label: {label}")
    )
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith("- ")),
        len(lines),
    )
    path.write_text("".join(lines[:start] + lines[end:]))


def test_baseline_finds_an_amd_job_and_its_files_gone(small):
    ci = small / ".buildkite"
    shutil.copytree(ci, small / "old")
    now = (ci / "test_areas", ci / "test-amd.yaml")
    baseline = ("--baseline", small / "old/test_areas", small / "old/test-amd.yaml")
    assert cli(small, "check-vllm", *now, *baseline).returncode == 0
    drop_step(ci / "test-amd.yaml", "Gamma")
    result = cli(small, "check-vllm", *now, *baseline)
    assert result.returncode == 1
    assert (
        "test-amd.yaml:6: job 'Gamma' (rocm:mi300): in the baseline it ran 1 "
        "test files; no AMD job of this label runs tests now; 1 of them run on no "
        "AMD job now: tests/gamma/test_y.py"
    ) in result.stdout.splitlines(), result.stdout
    assert "1 losing coverage since the baseline;" in result.stdout
    as_json = cli(
        small, "check-vllm", "--json", ci / "test-amd.yaml",
        "--baseline", small / "old" / "test-amd.yaml",
    )  # fmt: skip
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    [lost] = [f for f in report["findings"] if f["kind"] == "lost-job"]
    assert (lost["label"], lost["line"]) == ("Gamma", 6)
    assert report["totals"]["by_kind"]["lost-job"] == 1
    assert report["totals"]["amd_disagree"] == 0


def test_baseline_finds_files_a_job_no_longer_runs(small):
    ci = small / ".buildkite"
    shutil.copytree(ci, small / "old")
    amd = ci / "test-amd.yaml"
    text = amd.read_text()  # Gamma runs test_x instead of test_y
    amd.write_text(text.replace("--ignore=gamma/test_x.py", "--ignore=gamma/test_y.py"))
    result = cli(small, "check-vllm", amd, "--baseline", small / "old" / amd.name)
    assert result.returncode == 1
    assert (
        "test-amd.yaml:6: job 'Gamma' (rocm:mi300): in the baseline it ran 1 test "
        "files that no AMD job runs now: tests/gamma/test_y.py"
    ) in result.stdout.splitlines()


@pytest.mark.slow  # vLLM's whole snapshot, twice: full tier
def test_baseline_on_vllms_files_finds_the_amd_jobs_a_copy_drops(tmp_path):
    files = (REFERENCE / "test-files.7075df79b.txt").read_text().split()
    for line in [*files, test_vllm_format.LM_EVAL]:
        (tmp_path / line).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / line).touch()
    assert cli(tmp_path, "import", AREAS, AMD).returncode == 0
    areas, amd = tmp_path / "areas", tmp_path / "test-amd.yaml"
    shutil.copytree(AREAS, areas)
    shutil.copy(AMD, amd)
    baseline = ("--baseline", AREAS, AMD)
    assert cli(tmp_path, "check-vllm", areas, amd, *baseline).returncode == 0
    # the samplers mirror (as the old export removed it) and two AMD pipeline jobs
    text = (areas / "samplers.yaml").read_text()
    (areas / "samplers.yaml").write_text(text[: text.index("  mirror:\n")])
    drop_step(amd, "Samplers Test #")
    drop_step(amd, "Plugin Tests (2 GPUs) #")
    result = cli(tmp_path, "check-vllm", "--json", areas, amd, *baseline)
    assert result.returncode == 1
    lost = [f for f in json.loads(result.stdout)["findings"] if "lost" in f["kind"]]
    assert [(f["line"], f["label"], f["kind"]) for f in lost] == [
        (635, "Plugin Tests (2 GPUs)", "lost-job"),
        (2002, "Samplers Test", "lost-job"),  # test-amd's
        (19, "Samplers Test", "lost-job"),  # the mirror's
    ], lost
    assert "tests/samplers/" in lost[1]["message"]
