"""Real nox runs: sessions come from the skiplists, and each runs the suite as that
platform's CI does."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from selftest.helpers import REPO, clean_env, run_nox
from selftest.plugin.test_pytest_e2e import ENCODER_ERROR, EXPECTED, SESSIONS
from testmatrix.config.loader import load_workspace

pytestmark = pytest.mark.slow  # every test starts nox

WS = load_workspace(REPO)


def listed(root) -> dict[str, dict]:
    result = run_nox(root, "-l", "--json")
    assert result.returncode == 0, result.output
    return {row["session"]: row for row in json.loads(result.stdout)}


def test_one_session_per_suite_and_target_with_tags_and_description():
    listing = listed(REPO)
    generated = {
        name: row
        for name, row in listing.items()
        if row["tags"] and row["tags"][0] in WS.platforms
    }
    assert set(generated) == set(SESSIONS)
    for name, key in SESSIONS.items():
        row = generated[name]
        variant = [f"{key.platform}-{key.variant}"] if key.variant else []
        assert row["tags"] == [key.platform, *variant, key.suite]
        assert (
            f"suite {key.suite} as {key.target} CI does" in row["description"]
            and "\n" not in row["description"]
        )


def _selected(*args: str) -> set[str]:
    result = run_nox(REPO, "-l", *args)
    lines = result.stdout.splitlines()
    return {line.split()[1] for line in lines if line.startswith("* ")}


def test_tags_select_a_platform_with_its_variants_or_one_variant():
    assert _selected("-t", "rocm") == {n for n in SESSIONS if n.startswith("rocm-")}
    mi355 = _selected("-t", "rocm-mi355")
    assert mi355 == {n for n, k in SESSIONS.items() if k.variant == "mi355"}
    assert "rocm-mi355-kernels-multi-gpu" in mi355 and "cuda-aiter" not in SESSIONS


def test_new_platform_file_and_suite_add_sessions_without_code_change(workspace):
    (workspace / "skiplists/platforms/xpu.toml").write_text(
        '[platform]\ndescription = "Intel GPUs"\n'
    )
    suites = workspace / "skiplists/suites.toml"
    suites.write_text(
        suites.read_text()
        + '\n[suites.generation]\npath = "tests/models/language/generation"\n'
    )
    names = set(listed(workspace))
    everywhere = [s for s in WS.suites if WS.suites[s].runs_on is None]
    for platform in ("cuda", "rocm", "xpu"):
        for suite in (*everywhere, "generation"):
            assert f"{platform}-{suite}" in names
    assert "xpu-aiter" not in names  # aiter runs on rocm only
    result = run_nox(workspace, "--no-venv", "-s", "xpu-generation")
    assert result.returncode == 0 and "9 passed" in result.stdout


@pytest.mark.parametrize("name", list(EXPECTED))
def test_session_counts_match_the_skiplists(workspace, name):
    passed, skipped, ignored_files, _, deselected, xfailed = EXPECTED[name]
    key = SESSIONS[name]
    result = run_nox(workspace, "--no-venv", "-s", name)
    assert result.returncode == 0, result.output[-3000:]
    assert result.counts().get("passed") == passed
    assert result.counts().get("skipped", 0) == skipped
    assert result.counts().get("deselected", 0) == deselected
    assert result.counts().get("xfailed", 0) == xfailed
    command = next(
        line for line in result.stderr.splitlines() if "pytest command: pytest" in line
    )
    entries = WS.platforms[key.platform].ignores
    for entry in entries:  # an entry recording its error runs its tests: no --ignore
        ignored = entry.suite == key.suite and entry.fails is None
        assert (f"--ignore={entry.target}" in command) == ignored
    assert sum(f"--ignore={e.target}" in command for e in entries) == ignored_files


def test_arguments_after_double_dash_reach_pytest(workspace):
    result = run_nox(
        workspace, "--no-venv", "-s", "rocm-pooling", "--", "-k", "classif", "-x"
    )
    assert result.returncode == 0
    assert result.counts() == {"passed": 3, "deselected": 39}
    assert "-k classif -x" in result.stderr


@pytest.mark.parametrize(
    "posargs, message",
    [
        (
            ["--platform=cuda"],
            "'--platform cuda' after -- contradicts this session's platform (rocm), "
            "whose --ignore flags it runs with; run nox -s cuda-pooling instead",
        ),
        (
            ["--suite", "language"],
            "'--suite language' after -- contradicts this session's suite (pooling), "
            "whose --ignore flags it runs with; "
            "run nox -s rocm-language instead",
        ),
    ],
)
def test_arguments_after_double_dash_cannot_change_the_sessions_platform_or_suite(
    workspace, posargs, message
):
    result = run_nox(workspace, "--no-venv", "-s", "rocm-pooling", "--", *posargs)
    assert result.returncode == 1
    assert f"Session rocm-pooling aborted: {message}." in result.stderr
    assert "pytest command:" not in result.stderr  # refused before anything ran


def test_session_without_skiplist_reproduces_the_failure(workspace, tmp_path):
    junit = tmp_path / "junit.xml"
    result = run_nox(
        workspace,
        "--no-venv",
        "-s",
        "rocm-pooling",
        "--",
        "--no-skiplist",
        f"--junitxml={junit}",
    )
    assert result.returncode != 0
    messages = [
        c.get("message", "")
        for tc in ET.parse(junit).getroot().iter("testcase")
        for c in tc
        if c.tag in ("failure", "error")
    ]
    assert len(messages) == EXPECTED["rocm-pooling"].xfailed
    assert all(ENCODER_ERROR in m for m in messages)


@pytest.mark.parametrize(
    "file, old, new",
    [
        ("suites.toml", "[suites.pooling]", "[suites.pooling"),
        ("platforms/rocm.toml", "[variants.mi300]", "[variants.mi300"),
        ("platforms/rocm.toml", 'description = "AMD', 'descripton = "AMD'),
    ],
    ids=["suites", "platform-header", "platform-key"],
)
def test_bad_input_in_what_names_sessions_stops_nox_l_with_one_line(
    workspace, file, old, new
):
    path = workspace / "skiplists" / file
    path.write_text(path.read_text().replace(old, new, 1))
    result = run_nox(workspace, "-l")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()  # one a problem, the first the cause
    assert lines[0].startswith(f"nox: skiplists/{file}:"), result.stderr
    assert all(line.startswith("nox: skiplists/") for line in lines)
    assert "rocm-pooling" not in result.stdout


def _stopped_before_pytest(result, session: str) -> str:
    """The one line a session stopped with; it ran no test and installed nothing."""
    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if "aborted" in line]
    assert line.startswith(f"nox > Session {session} aborted: skiplists/")
    assert "Traceback" not in result.stderr and "pip install" not in result.stderr
    assert "pytest command:" not in result.stderr
    assert "test session starts" not in result.stdout
    return line


def test_bad_models_file_is_listed_then_stops_the_session_with_one_line(workspace):
    (workspace / "skiplists/models.toml").write_text(
        '[model_lists.encoder-attention]\nmodels = ["a/b",\n'
    )
    listing = run_nox(workspace, "-l")  # what names sessions is fine: they list
    assert listing.returncode == 0 and "* rocm-pooling " in listing.stdout
    result = run_nox(workspace, "--no-venv", "-s", "rocm-pooling")
    line = _stopped_before_pytest(result, "rocm-pooling")
    assert "skiplists/models.toml:1: invalid TOML" in line


def test_a_broken_entry_stops_the_session_with_one_line_and_runs_no_test(workspace):
    rocm = workspace / "skiplists/platforms/rocm.toml"
    rocm.write_text(
        rocm.read_text() + '\n[[ignore]]\nsuite = "pooling"\npath = "llm/gone.py"\n'
        'reason = "r"\n'
    )
    result = run_nox(workspace, "-s", "rocm-pooling")  # a fresh virtualenv: not filled
    line = _stopped_before_pytest(result, "rocm-pooling")
    assert "ignored path 'llm/gone.py' does not exist in suite 'pooling'" in line


def test_unknown_session_is_an_error():
    result = run_nox(REPO, "--no-venv", "-s", "rocm-polling")
    assert result.returncode != 0 and "rocm-polling" in result.stderr


def test_fresh_machine_session_builds_its_own_virtualenv(workspace, tmp_path):
    result = run_nox(
        workspace, "-s", "rocm-language", "--envdir", str(tmp_path / "envs")
    )
    assert result.returncode == 0, result.output[-3000:]
    assert "pip install ." in result.stderr
    assert result.counts() == {"passed": 14, "xfailed": 4}


def test_two_sessions_at_once_in_one_checkout_each_build_their_own_venv(workspace):
    """Two `nox -s rocm-language` at once: nox rebuilds .nox/<session> on every run,
    so sharing it crashed pip; the second nox process gets virtualenvs of its own."""
    import subprocess
    import sys

    from selftest.helpers import clean_env

    command = [sys.executable, "-m", "nox", "-s", "rocm-language"]
    env = clean_env()
    procs = [
        subprocess.Popen(
            command,
            cwd=workspace,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], (
        outputs[0][-2000:] + outputs[1][-2000:]
    )
    venvs = [
        line for out in outputs for line in out.splitlines() if "virtualenv" in line
    ]
    assert any("concurrent-" in line for line in venvs), venvs
    assert not list((workspace / ".nox").glob("concurrent-*"))  # removed at exit


def test_expected_failures_turn_red_when_rocm_gains_encoder_support(workspace):
    """The encoder entries record their error: without support the session passes
    (expected failures); with it, the same session fails naming each stale entry."""
    result = run_nox(workspace, "--no-venv", "-s", "rocm-api-server")
    assert result.returncode == 0, result.output[-3000:]
    assert result.counts() == {"passed": 18, "xfailed": 16}
    fixed = run_nox(
        workspace,
        "--no-venv",
        "-s",
        "rocm-api-server",
        env=clean_env(MINIVLLM_ROCM_ENCODER_SUPPORT="1"),
    )
    assert fixed.returncode != 0
    assert fixed.counts() == {"passed": 18, "failed": 16}
    assert (
        "16 expected failures: 0 failed as recorded, 16 passed (stale entries: remove "
        "them), 0 failed differently" in fixed.stdout
    )
    assert "the entry is stale, remove it" in fixed.stdout
