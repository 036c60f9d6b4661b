"""Every command testmatrix writes for a CI survives the agent's shell: hostile strings
in a skiplist ($(...), backquotes, quotes, `;`, newlines, `$`) reach pytest as the very
arguments the session builds, and nothing of them runs. The replay does what
Buildkite does: the upload's interpolation ($$ -> $, $NAME -> its value), then the
agent's `bash -e -c` with the step's environment, through the command template's
wrapper when there is one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from testmatrix.buildkite import export as buildkite
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import session_command, sessions

HOSTILE = [
    "$(touch PWNED-sub)",
    "`touch PWNED-tick`",
    "'; touch PWNED-semi; '",
    '"; touch PWNED-dq; "',
    "x\ntouch PWNED-newline",
    "$HOME ${HOME} $$ \\$ \\",
]
NAMES = ["sub", "tick", "semi", "dq", "nl", "dollar"]


def _toml(text: str) -> str:
    return json.dumps(text)  # a JSON string is a TOML basic string


def hostile_workspace(tiny, template: str | None) -> Path:
    files = {}
    for name in NAMES:
        files[f"tests/unit/x{name}/test_x.py"] = "def test_x():\n    pass\n"
    # file names hold what the schema lets a path hold (no newline: refused there)
    odd = [h.replace("/", "").replace("\n", " ") for h in HOSTILE]
    for i, text in enumerate(odd):
        files[f"tests/unit/odd/test_{i}{text}.py"] = "def test_y():\n    pass\n"
    ignores = ", ".join(_toml(f"odd/test_{i}{t}.py") for i, t in enumerate(odd))
    deselects = ", ".join(
        _toml(f"tests/unit/x{n}/test_x.py::test_x[{h}]")
        for n, h in zip(NAMES, HOSTILE, strict=True)
    )
    env = ", ".join(f"V{i} = {_toml(h)}" for i, h in enumerate(HOSTILE))
    args = ", ".join(_toml(f"--junit-prefix={h}") for h in HOSTILE[:1])
    settings = ""
    if template is not None:
        settings = f"\n[platform.buildkite]\ncommand_template = {_toml(template)}\n"
    files["skiplists/suites.toml"] = f"""
[suites.unit]
path = "tests/unit"
env = {{ {env} }}
args = [{args}]
markexpr = {_toml("not (slow)")}
"""
    files["skiplists/platforms/rocm.toml"] = f"""
[platform]
hardware = "rocm"
{settings}
[[ignore]]
suite = "unit"
paths = [{ignores}]
reason = {_toml("hostile $(touch PWNED-reason) `x`")}

[[deselect]]
tests = [{deselects}]
reason = "hostile ids"
"""
    return tiny(files)


def upload(text: str, env: dict[str, str]) -> tuple[str, list[str]]:
    """Buildkite's upload interpolation of one string: $$ is a $, $NAME and ${NAME}
    are values. Returns the text and the names it interpolated."""
    names: list[str] = []

    def sub(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        names.append(name)
        return env.get(name, "")

    return re.sub(r"\$\$|\$\{(\w+)\}|\$([A-Za-z_]\w*)", sub, text), names


RECORDER = """#!{python}
import json, os, sys
with open(os.environ["RECORD"], "a") as f:
    f.write(json.dumps([os.path.basename(sys.argv[0]), sys.argv[1:]]) + "\\n")
"""
WRAPPERS = {
    '"{command}"': '#!/bin/bash\nexec bash -e -c "$1"\n',
    "'{command}'": '#!/bin/bash\nexec bash -e -c "$1"\n',
    "{command}": '#!/bin/bash\nexec "$@"\n',
}


@pytest.mark.slow
@pytest.mark.parametrize("style", ["nox", "pytest"])
@pytest.mark.parametrize("form", [None, '"{command}"', "'{command}'", "{command}"])
def test_every_step_replays_through_the_agents_shell_without_injection(
    tiny, tmp_path, style, form
):
    template = None if form is None else f"bash ci/wrap.sh {form}"
    root = hostile_workspace(tiny, template)
    (root / "ci").mkdir()
    if form is not None:
        (root / "ci/wrap.sh").write_text(WRAPPERS[form])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("nox", "pytest"):
        (bin_dir / tool).write_text(RECORDER.format(python=sys.executable))
        (bin_dir / tool).chmod(0o755)
    workspace = load_workspace(root)
    pipeline = buildkite.build_pipeline(workspace, style=style)
    text = yaml.safe_dump(pipeline)  # what is committed, then uploaded
    uploaded, interpolated = upload(text, {"BUILDKITE_COMMIT": "abc"})
    assert interpolated == [], f"the upload would interpolate {interpolated}"
    steps = [s for g in yaml.safe_load(uploaded)["steps"] for s in g.get("steps", ())]
    names = sessions(workspace)
    assert {s["key"] for s in steps} == set(names)
    for step in steps:
        record = tmp_path / f"{step['key']}.jsonl"
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "RECORD": str(record),
            **{k: str(v) for k, v in step["env"].items()},
        }
        done = subprocess.run(
            ["bash", "-e", "-c", step["command"]],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert not list(root.rglob("PWNED*")), step["command"]
        [(tool, argv)] = [json.loads(line) for line in record.read_text().splitlines()]
        key = names[step["key"]]
        built = session_command(workspace, key.platform, key.suite, variant=key.variant)
        if style == "pytest":
            assert tool == "pytest" and argv == list(built.argv)
        else:
            assert tool == "nox" and argv == ["--no-venv", "-s", step["key"]]
        for name, value in built.env.items():
            assert env[name] == value  # the session's environment, to the byte
    assert not list(Path(os.getcwd()).glob("PWNED*"))
