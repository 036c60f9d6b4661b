"""`report` on what jobs uploaded: hostile names are escaped in the annotation (which
Buildkite renders as HTML), and a malformed summary is one located line while every
good one still makes the matrix."""

from __future__ import annotations

import json

import pytest

from testmatrix.cli import main


def summary(**over) -> dict:
    data = {
        "platform": "rocm",
        "target": "rocm",
        "suite": "unit",
        "exitstatus": 0,
        "counts": {"passed": 3, "failed": 0},
        "models": {},
        "entries": {},
    }
    data.update(over)
    return data


def write(tmp_path, name: str, data) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_hostile_names_cannot_add_rows_cells_or_markup(tmp_path, capsys):
    hostile = "<script>alert(1)</script>|x\n| fake | row |"
    paths = [
        write(tmp_path, "a.json", summary(suite=hostile.replace("\n", " "))),
        write(
            tmp_path,
            "b.json",
            summary(models={"org/<img src=x onerror=alert(1)>|m": {"passed": 1}}),
        ),
    ]
    assert main(["report", *paths]) == 0
    out = capsys.readouterr().out
    assert "<script>" not in out and "<img" not in out
    rows = [line for line in out.splitlines() if line.startswith("|")]
    assert all(line.count("|") - line.count("\\|") == 3 for line in rows), rows
    assert "&lt;script&gt;" in out


@pytest.mark.parametrize(
    "bad, message",
    [
        ('{"platform": "rocm", "exitstatus": 0, "counts": {"passed": NaN}}', "counts"),
        (summary(counts={"passed": -1}), "counts.passed"),
        (summary(counts={"passed": 1.5}), "counts.passed"),
        (summary(counts={"passed": int("9" * 400)}), "counts.passed"),
        (summary(counts={"passed": True}), "counts.passed"),
        (summary(counts=[1, 2]), "'counts' must be a table"),
        (summary(exitstatus="0"), "exitstatus"),
        (summary(suite=["unit"]), "'suite'"),
        (summary(models={"m": {"passed": "1"}}), "models.m.passed"),
        (summary(shard={"id": 3, "count": 2}), "'shard'"),
        ("[1, 2]", "not a JSON object"),
        ("{", "summary"),
    ],
)
def test_one_bad_summary_is_one_located_line_not_the_end(
    tmp_path, capsys, bad, message
):
    good = write(tmp_path, "good.json", summary(suite="kernels"))
    broken = write(tmp_path, "bad.json", bad)
    assert main(["report", good, broken]) == 2
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert len(errors) == 1 and errors[0].startswith(f"testmatrix: error: {broken}")
    assert message in errors[0]
    assert "| kernels | :white_check_mark: 3 passed |" in captured.out
    assert ":warning: not counted:" in captured.out
