"""Where a vanished path went: git's recorded rename, the same file name elsewhere,
a misspelling beside it; never a file that merely looks alike. Suite paths get the
hint as excludes and entries do."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from testmatrix.config.loader import load_workspace
from testmatrix.config.paths import did_you_mean_path
from testmatrix.errors import ConfigError


def _files(root: Path, *names: str) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("def test_x(): pass\n")


def test_the_same_name_elsewhere_is_a_move(tmp_path):
    _files(tmp_path, "tests/scoring/test_score.py", "tests/other/test_scorer.py")
    hint = did_you_mean_path(tmp_path, "tests/openai/test_score.py", "tests")
    assert hint == " (did you mean 'scoring/test_score.py'?)"


def test_a_merely_similar_name_is_no_suggestion(tmp_path):
    # the split of test_score.py: similar names, none of them where it went
    _files(
        tmp_path, "tests/scoring/test_bi_encoder_online.py", "tests/test_scores_x.py"
    )
    assert did_you_mean_path(tmp_path, "tests/openai/test_score.py", "tests") == ""


@pytest.mark.slow  # starts git
def test_a_rename_git_recorded_is_followed_to_its_newest_name(tmp_path):
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    _files(tmp_path, "tests/openai/test_score.py")
    for step in (
        ["add", "-A"],
        ["commit", "-qm", "one"],
        ["mv", "tests/openai/test_score.py", "tests/scoring/test_cross_encoder.py"],
        ["commit", "-qm", "split"],
        ["mv", "tests/scoring/test_cross_encoder.py", "tests/scoring/test_online.py"],
        ["commit", "-qm", "again"],
    ):
        if step[0] == "mv":
            (tmp_path / step[2]).parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([*git, *step], check=True)
    hint = did_you_mean_path(tmp_path, "tests/openai/test_score.py", "tests")
    assert hint == " (did you mean 'scoring/test_online.py'?)"


def test_a_vanished_suite_path_names_where_it_went(tmp_path, monkeypatch):
    _files(tmp_path, "tests/kernels/moe/test_fused_moe.py")
    skiplists = tmp_path / "skiplists"
    (skiplists / "platforms").mkdir(parents=True)
    (skiplists / "platforms" / "cuda.toml").write_text(
        '[platform]\nhardware = "cuda"\n'
    )
    (skiplists / "suites.toml").write_text(
        '[suites.moe]\npath = "tests/kernels/test_fused_moe.py"\n'
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_workspace(tmp_path)
    assert str(info.value) == (
        "skiplists/suites.toml:2: suite 'moe': file 'tests/kernels/test_fused_moe.py' "
        "does not exist (did you mean 'tests/kernels/moe/test_fused_moe.py'?)"
    )
