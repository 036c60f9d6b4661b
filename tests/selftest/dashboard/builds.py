"""Three CI builds of the bundled suite, made by real pytest runs: a probe test file
that changes from build to build (a test that breaks, one fixed against its entry,
one that starts skipping itself, one that vanishes, hostile ids and messages)."""

from __future__ import annotations

import shutil
import sys
import textwrap
from pathlib import Path

from selftest.helpers import COPIED, REPO, run

SESSIONS = ("cuda-language", "rocm-language", "rocm-pooling")
PROBE = "tests/models/language/generation/test_probe.py"
HOSTILE_REASON = 'known bug: <b>bold</b> | "quoted" </table><script>alert(1)</script>'
ENTRY = f"""
[[deselect]]
tests = ["{PROBE}::test_known_bug"]
reason = '{HOSTILE_REASON}'
issue = "https://example.org/issues/1?a=1&b=<2>"
fails = {{ error = "AssertionError", match = "known bug" }}
"""


def probe(build: int) -> str:
    """The probe tests as build `build` has them."""
    return textwrap.dedent(
        f"""
        import pytest

        BUILD = {build}


        def test_known_bug():
            assert BUILD == 3, "known bug in build {build}"


        def test_breaks_in_build_2():
            assert BUILD != 2, '<script>alert("x")</script> | broke\\nsecond line'


        def test_self_skips():
            if BUILD >= 2:
                pytest.skip("Need at least 4 GPUs")


        @pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>", 'a|b "q"'])
        def test_hostile_ids(name):
            assert name


        if BUILD < 3:

            def test_removed_in_build_3():
                pass
        """
    )


def workspace_copy(root: Path) -> Path:
    """The repository's workspace (skiplists, bundled suite) under `root`, with the
    probe's expected-failure entry on rocm."""
    root.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "selftest", "*.egg-info")
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=skip)
        elif source.exists():
            shutil.copy2(source, root / name)
    with (root / "skiplists/platforms/rocm.toml").open("a") as handle:
        handle.write(ENTRY)
    return root


def make_builds(root: Path, count: int = 3) -> list[Path]:
    """Run every session of SESSIONS once per build; each build's reports/ folder
    moves to builds/<n>/, as a Buildkite build's artifacts download."""
    from testmatrix.config.loader import load_workspace
    from testmatrix.core.session import session_command, sessions

    ws = workspace_copy(root / "ws")
    out = []
    for build in range(1, count + 1):
        (ws / PROBE).write_text(probe(build))
        workspace = load_workspace(ws)
        for name in SESSIONS:
            key = sessions(workspace)[name]
            command = session_command(
                workspace, key.platform, key.suite, variant=key.variant
            )
            result = run([sys.executable, "-m", "pytest", *command.argv], ws)
            assert result.returncode in (0, 1), result.output[-3000:]
        target = root / "builds" / str(100 + build)
        target.parent.mkdir(exist_ok=True)
        shutil.move(ws / "reports", target)
        out.append(target)
    return out
