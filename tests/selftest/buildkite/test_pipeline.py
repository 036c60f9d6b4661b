"""Buildkite: the exported pipeline, the drift check, and importing real vLLM
pipelines."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from selftest.config.test_loader import ROCM_IGNORES
from selftest.helpers import REPO, run
from testmatrix.buildkite.importer import import_pipeline
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_argv, sessions

DATA = REPO / "tests/selftest/data/vllm"
AMD_BASE, AMD_PR, MAIN = (
    DATA / "test-amd.802748bdd.yaml",
    DATA / "test-amd.ffc3b430a.yaml",
    DATA / "test-pipeline.802748bdd.yaml",
)
VLLM = [
    "--checkout-root",
    "/vllm-workspace",
    "--default-working-dir",
    "/vllm-workspace/tests",
]


def cli(cwd: Path, *args: str):
    return run([sys.executable, "-m", "testmatrix", *args], cwd)


def vllm_tree(root: Path) -> Path:
    """An empty vLLM checkout: every tests/**/test_*.py path of upstream 802748bdd."""
    for line in (DATA / "test-files.802748bdd.txt").read_text().split():
        path = root / line
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    return root


def imported_sets(pipeline: Path) -> dict[str, set[str]]:
    imported = import_pipeline(
        pipeline,
        checkout_root="/vllm-workspace",
        default_working_dir="/vllm-workspace/tests",
    )
    return {
        name: {i.path for i in suite.ignores} for name, suite in imported.suites.items()
    }


def steps(pipeline: dict) -> list[dict]:
    """The session steps: those of the platform groups (not the annotate step)."""
    return [step for group in pipeline["steps"] for step in group.get("steps", ())]


def test_committed_pipeline_is_valid_for_buildkite():
    data = yaml.safe_load((REPO / ".buildkite/pipeline.yml").read_text())
    schema = json.loads(
        resources.files("buildkite_sdk").joinpath("schema.json").read_text()
    )
    jsonschema.Draft7Validator(schema).validate(data)
    ws = load_workspace(REPO)
    by_key = {s["key"]: s for s in steps(data)}
    assert set(by_key) == set(sessions(ws))
    for key, step in by_key.items():
        session = sessions(ws)[key]
        platform = ws.platforms[session.platform]
        assert step["command"].startswith(f"nox --no-venv -s {key}")
        assert step["env"]["TESTMATRIX_STRICT_PLATFORM"] == "1"
        assert step["agents"]["queue"] == platform.buildkite.queue
        if session.variant is not None:
            gpus = ws.suites[session.suite].gpus
            assert step["agents"]["agent_pool"] == f"{session.variant}_{gpus}"
        assert step["retry"]["automatic"][0] == {"exit_status": -1, "limit": 2}
        assert (
            step["artifact_paths"] == [f"reports/{key}/*"]
            and step["timeout_in_minutes"] >= 1
        )
    sharded = by_key["rocm-language"]
    assert sharded["parallelism"] == 2
    assert (
        "--testmatrix-shard-id=$$BUILDKITE_PARALLEL_JOB "
        "--testmatrix-num-shards=$$BUILDKITE_PARALLEL_JOB_COUNT" in sharded["command"]
    )


@pytest.mark.slow
def test_committed_pipeline_matches_the_skiplists():
    result = cli(REPO, "export", "--check")
    assert result.returncode == 0, result.output


@pytest.mark.slow
def test_drift_check_fails_with_a_readable_diff(workspace):
    rocm = workspace / "skiplists/platforms/rocm.toml"
    rocm.write_text(
        rocm.read_text().replace('queue = "amd-mi325"', 'queue = "amd-mi355"')
    )
    result = cli(workspace, "export", "--check")
    assert result.returncode == 1
    assert "-      queue: amd-mi325\n+      queue: amd-mi355" in result.stdout
    assert (
        "does not match the skiplists; regenerate it: testmatrix export"
        in result.stderr
    )
    assert cli(workspace, "export").returncode == 0
    assert cli(workspace, "export", "--check").returncode == 0


@pytest.mark.slow
def test_pipeline_session_regenerates_the_file(workspace):
    (workspace / ".buildkite/pipeline.yml").unlink()
    result = run(
        [sys.executable, "-m", "nox", "--no-venv", "-s", "pipeline"], workspace
    )
    assert result.returncode == 0, result.output
    assert (workspace / ".buildkite/pipeline.yml").read_text() == (
        REPO / ".buildkite/pipeline.yml"
    ).read_text()


def test_importing_both_amd_pipelines_shows_exactly_the_prs_additions():
    before, after = imported_sets(AMD_BASE), imported_sets(AMD_PR)
    added = {
        name: after[name] - before.get(name, set())
        for name in after
        if after[name] - before.get(name, set())
    }
    removed = {
        name: before[name] - after.get(name, set())
        for name in before
        if before[name] - after.get(name, set())
    }
    assert removed == {}
    assert added == {
        "api-server": {"test_vision.py", "test_optional_middleware.py"},
        "pooling": ROCM_IGNORES["pooling"],
    }
    assert sum(map(len, before.values())) == 28  # every --ignore flag of the base file


def test_comments_become_reasons_and_links_become_issues():
    imported = import_pipeline(
        AMD_PR,
        checkout_root="/vllm-workspace",
        default_working_dir="/vllm-workspace/tests",
    )
    by_path = {i.path: i for i in imported.suites["api-server"].ignores}
    assert (
        by_path["test_vision.py"].issue
        == "https://github.com/vllm-project/vllm/issues/27442"
    )
    assert "Skip encoder models" in by_path["test_vision.py"].reason
    # the '# ^' note names two files; the older flags of the same command keep an
    # imported reason
    assert by_path["tool_parsers/"].reason == (
        "imported from test-amd.ffc3b430a.yaml, "
        "step 'Entrypoints Integration Test (API Server)'"
    )
    pooling = imported.suites["pooling"].ignores
    assert all(
        i.issue == "https://github.com/vllm-project/vllm/issues/27442" for i in pooling
    )


@pytest.mark.slow
def test_import_reports_what_it_cannot_map_step_by_step(tmp_path):
    result = cli(
        tmp_path,
        "import",
        str(MAIN),
        "--platform",
        "cuda",
        "--skiplists",
        str(tmp_path / "sk"),
        *VLLM,
    )
    assert result.returncode == 0, result.output
    out = result.stdout
    assert "step 'LoRA Test %N': 7 ignores -> suite lora" in out
    assert (
        "step 'LoRA Test %N': not mapped: --shard-id=$$BUILDKITE_PARALLEL_JOB "
        "(in: pytest lora)" in out
    )
    assert "not mapped: -m not cpu_test (in: pytest multimodal)" in out
    assert "not mapped: not pytest: bash standalone_tests/python_only_compile.sh" in out
    written = (tmp_path / "sk/platforms/cuda.toml").read_text()
    assert (
        written.count("[[ignore]]")
        == sum(len(s) for s in imported_sets(MAIN).values())
        == 26
    )


@pytest.mark.slow
@pytest.mark.parametrize("source", [AMD_BASE, AMD_PR], ids=["802748bdd", "ffc3b430a"])
def test_round_trip_reproduces_every_steps_ignore_set(tmp_path, source):
    root = vllm_tree(tmp_path / "vllm")
    result = cli(
        root,
        "import",
        str(source),
        "--platform",
        "rocm",
        "--skiplists",
        "skiplists",
        *VLLM,
    )
    assert result.returncode == 0, result.output
    (root / "skiplists/platforms/cuda.toml").write_text(
        '[platform]\nhardware = "cuda"\n'
    )
    original = imported_sets(source)
    ws = load_workspace(root)
    # nox style: each step runs a session whose argv carries the ignore set
    for suite, ignores in original.items():
        argv = session_argv(ws, "rocm", suite)
        flags = {a.split("=", 1)[1] for a in argv if a.startswith("--ignore=")}
        base = ws.suites[suite].path + "/"
        assert {f[len(base) :] for f in flags} == ignores
    # pytest style: the exported pipeline itself, imported again, gives the same sets
    suites = root / "skiplists/suites.toml"
    suites.write_text(
        '[workspace.buildkite]\ncommand_style = "pytest"\n\n' + suites.read_text()
    )
    assert cli(root, "export", "-o", "exported.yml").returncode == 0
    again = import_pipeline(root / "exported.yml")
    rocm = {
        name.removeprefix("rocm-"): {i.path for i in s.ignores}
        for name, s in again.suites.items()
        if name.startswith("rocm")
    }
    assert rocm == original


@pytest.mark.slow
def test_not_yaml(tmp_path):
    bad = tmp_path / "p.yml"
    bad.write_text("steps:\n  - label: x\n    command: [unclosed\n")
    result = cli(
        tmp_path, "import", str(bad), "--platform", "rocm", "--skiplists", "sk"
    )
    assert result.returncode == 2 and result.stderr.startswith(
        f"testmatrix: error: {bad}:"
    )
    assert "not YAML" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "sk").exists()


@pytest.mark.slow
def test_yaml_that_is_not_a_pipeline(tmp_path):
    bad = tmp_path / "p.yml"
    bad.write_text("name: just a mapping\n")
    result = cli(
        tmp_path, "import", str(bad), "--platform", "rocm", "--skiplists", "sk"
    )
    assert result.stderr.strip() == (
        f"testmatrix: error: {bad}:1: not a Buildkite pipeline: "
        "no top-level 'steps' list"
    )
    assert result.returncode == 2 and not (tmp_path / "sk").exists()


@pytest.mark.slow
def test_step_outside_every_suite(workspace):
    pipeline = workspace / "p.yml"
    pipeline.write_text(
        "steps:\n- label: Samplers\n"
        "  command: pytest tests/samplers --ignore=tests/samplers/test_x.py\n"
    )
    before = sorted(p.name for p in (workspace / "skiplists/platforms").iterdir())
    result = cli(workspace, "import", str(pipeline), "--platform", "mi300")
    assert result.returncode == 2
    assert (
        "step 'Samplers' runs pytest on 'tests/samplers', which is outside every "
        "suite" in result.stderr
    )
    assert (
        sorted(p.name for p in (workspace / "skiplists/platforms").iterdir()) == before
    )


@pytest.mark.slow
def test_unknown_platform_and_existing_file(workspace):
    pipeline = workspace / "p.yml"
    pipeline.write_text(
        "steps:\n- label: Pool\n"
        "  command: pytest tests/entrypoints/pooling"
        " --ignore=tests/entrypoints/pooling/llm\n"
    )
    assert (
        "invalid platform name 'ROCm!'"
        in cli(workspace, "import", str(pipeline), "--platform", "ROCm!").stderr
    )
    original = (workspace / "skiplists/platforms/rocm.toml").read_text()
    result = cli(workspace, "import", str(pipeline), "--platform", "rocm")
    assert (
        result.returncode == 2
        and "already exists; pass --force to overwrite it" in result.stderr
    )
    assert (workspace / "skiplists/platforms/rocm.toml").read_text() == original
    assert (
        cli(
            workspace, "import", str(pipeline), "--platform", "rocm", "--force"
        ).returncode
        == 0
    )
    ws = load_workspace(workspace)
    assert [(e.suite, e.path) for e in ws.platforms["rocm"].ignores] == [
        ("pooling", "llm")
    ]


@pytest.mark.slow
def test_round_trip_without_the_test_tree(tmp_path):
    """Import and export are transformations of the skiplists: no checkout is needed
    beside them."""
    result = cli(
        tmp_path, "import", str(MAIN), "--platform", "cuda", "--skiplists", "skiplists"
    )  # roots inferred
    assert result.returncode == 0, result.output
    assert "taking /vllm-workspace as the checkout root" in result.stdout
    assert (
        cli(tmp_path, "export", "-o", "out.yml").returncode == 2
    )  # paths are checked by default
    exported = cli(
        tmp_path, "export", "--no-path-check", "--style", "pytest", "-o", "out.yml"
    )
    assert exported.returncode == 0, exported.output
    again = import_pipeline(tmp_path / "out.yml")
    assert {
        n.removeprefix("cuda-"): {i.path for i in s.ignores}
        for n, s in again.suites.items()
    } == imported_sets(MAIN)


def _suites(imported) -> dict[str, tuple[str, set[str]]]:
    return {
        name: (s.path, {i.path for i in s.ignores})
        for name, s in imported.suites.items()
    }


@pytest.mark.parametrize("source", [AMD_PR, MAIN], ids=["test-amd", "test-pipeline"])
def test_import_infers_vllms_checkout_root_and_default_working_dir(source):
    inferred = import_pipeline(source)
    assert _suites(inferred) == _suites(
        import_pipeline(
            source,
            checkout_root="/vllm-workspace",
            default_working_dir="/vllm-workspace/tests",
        )
    )
    assert inferred.suites["lora"].path == "tests/lora"  # a step with no working_dir
    steps = yaml.safe_load(source.read_text())["steps"]
    named = [str(s["working_dir"]).rstrip("/") for s in steps if "working_dir" in s]
    assert inferred.notes == [
        f"{source}: {len(steps) - len(named)} steps name no working_dir; "
        "taking them to run in /vllm-workspace/tests, the most common working_dir "
        f"({named.count('/vllm-workspace/tests')} of {len(named)} steps); "
        "pass --default-working-dir to change it",
        f"{source}: taking /vllm-workspace as the checkout root, the deepest "
        "directory holding every absolute working_dir of a step that runs pytest; "
        "pass --checkout-root to change it",
    ]


ROOT_PIPELINE = """\
steps:
- label: Ray compatibility
  working_dir: "/"
  commands:
  - bash /ws/.buildkite/scripts/check-ray-compatibility.sh
- label: Pooling
  working_dir: /ws/tests
  command: pytest entrypoints/pooling --ignore=entrypoints/pooling/llm
"""


def test_a_step_that_runs_no_pytest_does_not_move_the_checkout_root(tmp_path):
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(ROOT_PIPELINE)
    imported = import_pipeline(pipeline)  # "/" would make it ws/tests/entrypoints/...
    assert _suites(imported) == {"pooling": ("entrypoints/pooling", {"llm"})}
    assert imported.notes[-1].startswith(f"{pipeline}: taking /ws/tests as")


def test_checkout_root_is_not_refused_for_a_step_that_runs_no_pytest(tmp_path):
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(ROOT_PIPELINE)
    imported = import_pipeline(pipeline, checkout_root="/ws")
    assert _suites(imported) == {"pooling": ("tests/entrypoints/pooling", {"llm"})}
    ray = next(s for s in imported.steps if s.label == "Ray compatibility")
    assert ray.unmapped == [
        "not pytest: bash /ws/.buildkite/scripts/check-ray-compatibility.sh"
    ]


CD_PIPELINE = """\
steps:
- label: Models (up)
  working_dir: /ws/tests
  commands:
  - cd .. && pytest -v tests/models --ignore=tests/models/test_a.py
- label: Models (pushd)
  working_dir: /ws/tests
  commands:
  - pushd models
  - pytest -v . --ignore=test_b.py
  - popd
  - pytest -v models/sub --ignore=models/sub/test_c.py
- label: Lost
  working_dir: /ws/tests
  commands:
  - cd "$BUILDKITE_BUILD_CHECKOUT_PATH"
  - pytest tests/x --ignore=tests/x/y.py
"""


def test_import_follows_cd_pushd_and_popd(tmp_path):
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(CD_PIPELINE)
    imported = import_pipeline(pipeline, checkout_root="/ws")
    assert sorted(_suites(imported).values()) == [
        ("tests/models", {"test_a.py"}),
        ("tests/models", {"test_b.py"}),
        ("tests/models/sub", {"test_c.py"}),
    ]
    lost = next(s for s in imported.steps if s.label == "Lost")
    assert lost.unmapped == [
        "--ignore=tests/x/y.py (working directory unknown after "
        "'cd \"$BUILDKITE_BUILD_CHECKOUT_PATH\"')"
    ]
    assert all(
        "not pytest" not in u for s in imported.steps for u in s.unmapped
    )  # a cd is followed, not dropped


@pytest.mark.slow
def test_import_finds_the_checkout_root_from_the_checkout_it_imports_into(tmp_path):
    root = vllm_tree(tmp_path / "vllm")
    pipeline = (
        tmp_path / "p.yml"
    )  # one working_dir only: the root could be /app/tests or /app
    pipeline.write_text(
        "steps:\n- label: Pooling\n  working_dir: /app/tests\n"
        "  command: pytest entrypoints/pooling"
        " --ignore=entrypoints/pooling/llm/test_encode.py\n"
    )
    assert _suites(import_pipeline(pipeline)) == {
        "pooling": ("entrypoints/pooling", {"llm/test_encode.py"})
    }
    result = cli(root, "import", str(pipeline), "--platform", "rocm")
    assert result.returncode == 0, result.output
    assert (
        f"taking /app as the checkout root: every suite path then exists in {root}"
        in result.stdout
    )
    assert (
        'path = "tests/entrypoints/pooling"'
        in (root / "skiplists/suites.toml").read_text()
    )
    assert [
        (e.suite, e.path) for e in load_workspace(root).platforms["rocm"].ignores
    ] == [("pooling", "llm/test_encode.py")]


ANCHOR_PIPELINE = """\
common: &common
  working_dir: /ws/tests
  agents: {queue: amd}
setup: &setup
  - pip install -e .
steps:
- label: Pooling
  <<: *common
  commands:
  - *setup
  - pytest entrypoints/pooling --ignore=entrypoints/pooling/llm
- wait
- block: Release?
- label: Language
  <<: *common
  working_dir: /ws/tests/models   # the step's own key wins over the merged one
  command: pytest language --ignore=language/test_x.py
- label: Nightly
  trigger: nightly-rocm
"""


def test_import_applies_anchors_merge_keys_and_reports_triggers(tmp_path):
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(ANCHOR_PIPELINE)
    imported = import_pipeline(pipeline, checkout_root="/ws")
    assert _suites(imported) == {
        "pooling": ("tests/entrypoints/pooling", {"llm"}),
        "language": ("tests/models/language", {"test_x.py"}),
    }
    assert [(s.label, s.unmapped) for s in imported.steps] == [
        ("Pooling", ["not pytest: pip install -e ."]),
        ("Language", []),
        (
            "Nightly",
            [
                "trigger step: pipeline 'nightly-rocm' is not imported; "
                "import its file on its own"
            ],
        ),
    ]


@pytest.mark.parametrize(
    "command",
    [
        "timeout 3600 pytest -v tests/models --ignore=tests/models/test_a.py",
        "uv run pytest tests/models --ignore=tests/models/test_a.py | tee pytest.log",
        "HIP_VISIBLE_DEVICES=0 python3 -m pytest tests/models "
        "--ignore=tests/models/test_a.py > log.txt 2>&1",
        "env FOO=1 pytest tests/models --ignore tests/models/test_a.py "
        " # a shell comment, not a path",
        # vLLM's template quoting
        'pytest -v -s tests/models -m \\"not vlm\\" --ignore=tests/models/test_a.py',
    ],
)
def test_import_sees_pytest_through_wrappers_pipes_and_redirections(tmp_path, command):
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(
        yaml.safe_dump({"steps": [{"label": "Models", "commands": [command]}]})
    )
    imported = import_pipeline(pipeline)
    assert _suites(imported) == {"models": ("tests/models", {"test_a.py"})}
    assert [
        u
        for s in imported.steps
        for u in s.unmapped
        if "test_a.py" in u or "pytest has" in u
    ] == []


@pytest.mark.slow
def test_working_dir_outside_the_given_checkout_root(tmp_path):
    pipeline = tmp_path / "p.yml"
    pipeline.write_text(
        "steps:\n- label: Pool\n  working_dir: /opt/other\n"
        "  command: pytest pool --ignore=pool/test_a.py\n"
    )
    result = cli(
        tmp_path,
        "import",
        str(pipeline),
        "--platform",
        "rocm",
        "--skiplists",
        "sk",
        "--checkout-root",
        "/ws",
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"testmatrix: error: {pipeline}:2: working_dir '/opt/other' is outside "
        "--checkout-root '/ws'"
    )
    assert not (tmp_path / "sk").exists()
