"""The tox plugin in tox's own runs: environments from the skiplists beside the
project's, labels from tags, the plan's command and environment taken literally."""

from __future__ import annotations

import json
import shlex

import pytest

from selftest.helpers import REPO
from selftest.tox.toxrun import TOXFILE, tox_config, tox_main
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_command, sessions

WS = load_workspace(REPO)

OWN_TOX_INI = """
    [tox]
    env_list = lint

    [testenv:lint]
    description = the project's own linter
    skip_install = true
    commands = python -c "print('linted')"
"""
HOSTILE = "$(touch pwned) `touch pwned` {env:HOME} {posargs} ' \" ; $HOME"


def _listed(output: str) -> dict[str, str]:
    rows = [line.split(" -> ", 1) for line in output.splitlines() if " -> " in line]
    return {name.strip(): description for name, description in rows}


def test_tox_l_lists_every_session_with_its_description_beside_own_envs(tiny):
    root = tiny({"tox.ini": OWN_TOX_INI, "toxfile.py": TOXFILE})
    code, output = tox_main(root, "l")
    assert code == 0, output
    listed = _listed(output)
    assert listed == {
        "lint": "the project's own linter",
        "cuda-unit": "Run suite unit as cuda CI does: cuda platform.",
    }


def test_the_bundled_workspace_lists_every_session_in_order():
    code, output = tox_main(REPO, "l")
    assert code == 0, output
    listed = _listed(output)
    ours = [name for name in listed if name in sessions(WS)]
    assert ours == list(sessions(WS))
    assert listed["rocm-mi355-pooling"] == (
        "Run suite pooling as rocm:mi355 CI does: AMD Instinct MI355X agents (gfx950)."
    )


@pytest.mark.parametrize(
    "label, prefix", [("rocm", "rocm-"), ("rocm-mi355", "rocm-mi355-")]
)
def test_tags_are_labels_that_select_a_platform_or_one_variant(label, prefix):
    code, output = tox_main(REPO, "l", "-m", label)
    assert code == 0, output
    assert set(_listed(output)) == {n for n in sessions(WS) if n.startswith(prefix)}


def test_a_projects_own_env_of_a_sessions_name_stays_its_own(tiny):
    ini = OWN_TOX_INI + (
        '\n[testenv:cuda-unit]\ndescription = mine\ncommands = python -c "1"\n'
    )
    root = tiny({"tox.ini": ini, "toxfile.py": TOXFILE})
    code, output = tox_main(root, "l")
    assert code == 0, output
    assert _listed(output)["cuda-unit"] == "mine"
    assert "testmatrix's session of that name is left out" in output
    [command] = tox_config(root, ["cuda-unit"])["cuda-unit"]["commands"]
    assert command == "python -c 1"


def test_hostile_skiplist_strings_reach_pytest_as_the_plan_builds_them(tiny):
    """tox substitutes {env:X} and {posargs} in what it reads from its files; the
    plugin's values are the plan's, word for word."""
    root = tiny(
        {
            "toxfile.py": TOXFILE,
            "skiplists/suites.toml": f"""
                [suites.unit]
                path = "tests/unit"
                env = {{ HOSTILE = {json.dumps(HOSTILE)} }}
                keyword = "not x"
            """,
            "skiplists/platforms/cuda.toml": f"""
                [platform]
                hardware = "cuda"

                [[deselect]]
                test = {json.dumps(f"tests/unit/test_a.py::test_a[{HOSTILE}]")}
                reason = {json.dumps(HOSTILE)}
            """,
            "tests/unit/test_a.py": "def test_a():\n    pass\n",
        }
    )
    expected = session_command(load_workspace(root), "cuda", "unit")
    assert f"--deselect=tests/unit/test_a.py::test_a[{HOSTILE}]" in expected.argv
    env = tox_config(root, ["cuda-unit"])["cuda-unit"]
    [command] = env["commands"]
    assert shlex.split(command) == ["pytest", *expected.argv]
    assert env["set_env"]["HOSTILE"] == HOSTILE == expected.env["HOSTILE"]


def test_bad_skiplists_stop_the_environment_with_one_line(tiny):
    root = tiny(
        {
            "toxfile.py": TOXFILE,
            "skiplists/platforms/cuda.toml": """
                [platform]
                hardware = "cuda"

                [[ignore]]
                suite = "unit"
                path = "missing.py"
                reason = "gone"
            """,
        }
    )
    code, output = tox_main(root, "l")  # names come from the tables naming them
    assert code == 0 and "cuda-unit" in _listed(output), output
    error = tox_config(root, ["cuda-unit"])["cuda-unit"]["commands"]["error"]
    assert "skiplists/platforms/cuda.toml:" in error and "missing.py" in error
    assert "\n" not in error


TWICE = (
    "import testmatrix.tox.plugin\n"
    "from tox.plugin.manager import MANAGER\n"
    "MANAGER.manager.register(testmatrix.tox.plugin, 'testmatrix')  # entry point's\n"
    + TOXFILE
)


def test_hooks_registered_twice_still_declare_and_configure_once(tiny):
    """An egg-info of a checkout on sys.path makes tox load the entry point beside
    a toxfile importing the hooks."""
    ini = OWN_TOX_INI + '\n[testenv:cuda-unit]\ncommands = python -c "1"\n'
    root = tiny({"toxfile.py": TWICE, "tox.ini": ini})
    code, output = tox_main(root, "l")
    assert code == 0, output
    assert [line.split()[0] for line in output.splitlines() if " -> " in line] == [
        "lint",
        "cuda-unit",
    ]
    assert output.count("testmatrix's session of that name is left out") == 1
    (root / "tox.ini").write_text("[tox]\n")
    env = tox_config(root, ["cuda-unit"])["cuda-unit"]
    assert env["commands"][0].startswith("pytest tests/unit --testmatrix-platform=")
