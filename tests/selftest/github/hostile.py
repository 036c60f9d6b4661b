"""A workspace whose every skiplist string tries to run code: in bash ($(...),
backticks, quotes, ';', newlines, '$') and in GitHub's expressions (${{ }})."""

from __future__ import annotations

import json

# what a string in a skiplist may try; paths hold no newline (the schema refuses it)
PATH_ATTACK = "x$(touch pwned)`touch pwned`'\";${{ github.token }}$HOME"
ATTACK = PATH_ATTACK + "\n${{ secrets.TOKEN }} && touch pwned # }}"


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text)


def files() -> dict[str, str]:
    """The tiny workspace's files: hostile paths, args, env values, ids, reasons,
    runner labels and concurrency group."""
    return {
        "skiplists/suites.toml": f"""
            [workspace]
            install = [{q(ATTACK)}]

            [workspace.github]
            runs_on = ["self-hosted", {q(ATTACK)}]
            python = {q(ATTACK)}

            [suites.unit]
            path = "tests/unit"
            args = [{q("--hostile=" + ATTACK)}, {q(ATTACK)}]
            env = {{ HOSTILE = {q(ATTACK)}, PLAIN = "1" }}
            github = {{ parallelism = 2, concurrency_group = {q(ATTACK)} }}
        """,
        "skiplists/platforms/cuda.toml": f"""
            [platform]
            hardware = "cuda"
            github.runs_on = [{q(ATTACK)}, "gpus-{{gpus}}"]
            github.env = {{ MORE = {q(ATTACK)} }}

            [[ignore]]
            suite = "unit"
            path = {q(PATH_ATTACK + ".py")}
            reason = {q(ATTACK)}

            [[deselect]]
            test = {q("tests/unit/test_a.py::test_a[" + ATTACK + "]")}
            reason = {q(ATTACK)}
        """,
        f"tests/unit/{PATH_ATTACK}.py": "def test_hostile():\n    pass\n",
        "tests/unit/test_a.py": "def test_a():\n    pass\n",
    }
