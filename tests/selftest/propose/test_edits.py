"""Entries cut out by their lines and appended as text: the rest byte for byte."""

from __future__ import annotations

import pytest

from testmatrix import errors
from testmatrix.propose.edits import FileEdit, entry_span
from testmatrix.propose.evidence import Stale

TEXT = """\
[platform]
description = "x"  # a note

# about the first
[[deselect]]
tests = [
    "a.py::t1",
    "a.py::t2",  # [[not a header]]
]
reason = "r"

[[flaky]]
test = "b.py"
reruns = 2
reason = '''
[[still not a header]]
'''
"""


def _cut(text: str, line: int) -> str:
    start, end = entry_span(text, "f.toml", line)
    lines = text.splitlines(keepends=True)
    return "".join(lines[:start] + lines[end:])


def test_an_entry_goes_with_its_comment_and_one_gap() -> None:
    assert _cut(TEXT, 5) == TEXT.replace(
        '# about the first\n[[deselect]]\ntests = [\n    "a.py::t1",\n'
        '    "a.py::t2",  # [[not a header]]\n]\nreason = "r"\n\n',
        "",
    )


def test_any_line_of_an_entry_finds_it() -> None:
    assert _cut(TEXT, 7) == _cut(TEXT, 5)


def test_the_last_entry_takes_the_gap_before_it() -> None:
    got = _cut(TEXT, 12)
    assert got == TEXT.split("\n[[flaky]]")[0]


def test_a_line_outside_any_entry_is_refused() -> None:
    with pytest.raises(errors.TestmatrixError, match=r"f.toml:2: no \[\[...\]\] entry"):
        entry_span(TEXT, "f.toml", 2)


def test_a_file_edit_keeps_every_other_byte() -> None:
    edit = FileEdit(None, "f.toml", TEXT)  # type: ignore[arg-type]
    edit.remove.append((13, Stale("f.toml:13", "flaky", "r", "quiet_flaky", ())))
    edit.add.append('[[deselect]]\ntest = "c.py"\nreason = "new"\n')
    new = edit.new_text()
    assert (
        new
        == TEXT.split("\n[[flaky]]")[0]
        + '\n[[deselect]]\ntest = "c.py"\nreason = "new"\n'
    )
    assert edit.diff().startswith("--- a/f.toml\n+++ b/f.toml\n")


def test_unicode_line_separators_in_strings_do_not_shift_lines() -> None:
    text = TEXT.replace('reason = "r"', 'reason = "r\u2028s\x85t"')
    start, end = entry_span(text, "f.toml", 12)
    assert text.split("\n")[start : start + 2] == ["", "[[flaky]]"]  # its gap too
    assert text.split("\n")[end] == ""  # through the file's end


def test_comments_from_reports_stay_one_line() -> None:
    from testmatrix.propose.cluster import Group
    from testmatrix.propose.edits import entry_text

    group = Group("rocm", (), ("a.py",), None, ("1\n[[ignore]]", "2\u2028x"), 1)
    text = entry_text(group, 2, "https://x/1")
    assert text.splitlines()[0] == "# flaky on rocm in builds 1?[[ignore]], 2?x"
    assert text.count("[[") == 2  # the entry's header, and the text in the comment
