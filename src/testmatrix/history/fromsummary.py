"""A session's results from its summary's `results`, where the plugin wrote them:
every test of `durations` passed unless `results.tests` says what its JUnit testcase
would (result element, type, message) and which of `results.records` it carries.
Read with the JSON decoder (C) instead of an XML parser driving Python for each
element, and with pytest's own node ids (JUnit's class names lose them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from ..errors import TestmatrixError
from .junit import MAX_ID, Result, make_result
from .outcomes import Outcome

# what a JUnit testcase's first result element may be (None: it passed)
TAGS = (None, "failure", "error", "skipped")
PREFIX = "testmatrix_"  # the JUnit properties' names: a record's keys, prefixed
MAX_FIELD = 4096  # a record's value, a type or a message as the plugin writes it


def summary_results(
    block: object, durations: dict[Any, Any], reran: set[str], path: Path
) -> list[Result]:
    """Every test of a summary: those `durations` names in its order (the order they
    ran), then any that only `results` names. Any value of the wrong shape is one
    located line."""
    if not isinstance(block, dict):
        _wrong(path, "'results' must be a table")
    records, tests = block.get("records"), block.get("tests")
    if not isinstance(records, list) or not isinstance(tests, dict):
        _wrong(path, "'results' must hold 'records' (a list) and 'tests' (a table)")
    again = block.get("teardown", {})
    if not isinstance(again, dict) or not all(_text(v) for v in again.values()):
        _wrong(path, f"'results.teardown' must map test ids to text {_UP_TO}")
    for nodeid in again:
        if nodeid not in tests:  # its first testcase, the failure, is not there
            _wrong(path, f"'results.teardown.{str(nodeid)[:80]}' is in no 'tests'")
    props = [_props(n, record, path) for n, record in enumerate(records)]
    _check_durations(durations, path)
    out: list[Result] = []
    add, said_of, new = out.append, tests.get, tuple.__new__
    passed, rerun = Outcome.PASSED, Outcome.RERUN_PASSED
    # the hot loop: 50,000 rounds a nightly build, most of them plain passes (their
    # ids and seconds checked above, all at once)
    for nodeid, seconds in durations.items():
        duration = seconds if 0 <= seconds < 1e9 else None  # NaN: none
        said = said_of(nodeid)
        if said is None:  # passed, and no entry decided it: make_result's answer
            outcome = rerun if nodeid in reran else passed
            add(new(Result, (nodeid, outcome, None, "", "", duration, "")))
            continue
        add(_said(nodeid, duration, said, props, reran, path))
        if nodeid in again:
            add(_again(out[-1], props, said, again[nodeid]))
    for nodeid, said in tests.items():
        if nodeid not in durations:
            out.append(_said(nodeid, None, said, props, reran, path))
            if nodeid in again:
                out.append(_again(out[-1], props, said, again[nodeid]))
    return out


def _again(
    first: Result, props: list[dict[str, str]], said: list[Any], message: str
) -> Result:
    """junitxml's second testcase of a failed test whose teardown failed too: an
    error, with the test's properties."""
    found = props[said[3]] if said[3] is not None else {}
    return make_result(first.nodeid, None, found, "error", None, message, False)


def _text(value: object) -> bool:
    """Text a history can hold: bounded, and no NUL (PostgreSQL's text has none;
    XML has none, so a JUnit file cannot carry one either)."""
    return isinstance(value, str) and len(value) <= MAX_FIELD and "\0" not in value


def _said(
    nodeid: object,
    duration: float | None,
    said: object,
    props: list[dict[str, str]],
    reran: set[str],
    path: Path,
) -> Result:
    test = _id(nodeid, path)
    if not isinstance(said, list) or len(said) != 4:
        _wrong(
            path,
            f"'results.tests.{test[:80]}' must be [element, type, message, record]",
        )
    tag, kind, message, record = said
    if tag not in TAGS:
        _wrong(
            path,
            f"'results.tests.{test[:80]}': no JUnit result element {str(tag)[:40]!r}",
        )
    for value in (kind, message):
        if value is not None and not _text(value):
            _wrong(path, f"{_at(test)}: a type or message must be text {_UP_TO}")
    if record is None:
        found: dict[str, str] = {}
    elif type(record) is int and 0 <= record < len(props):
        found = props[record]
    else:
        _wrong(path, f"{_at(test)}: record {str(record)[:40]} is no index of 'records'")
    return make_result(test, duration, found, tag, kind, message, test in reran)


def _props(n: int, record: object, path: Path) -> dict[str, str]:
    """A record as the JUnit properties that carry it (testmatrix_entry, ...)."""
    if not isinstance(record, dict) or not all(
        isinstance(k, str) and _text(v) for k, v in record.items()
    ):
        _wrong(path, f"'results.records[{n}]' must map names to text {_UP_TO}")
    return {PREFIX + k: v for k, v in record.items()}


def _id(nodeid: object, path: Path) -> str:
    if isinstance(nodeid, str) and nodeid and len(nodeid) <= MAX_ID and _text(nodeid):
        return nodeid
    got = str(nodeid)[:80]
    _wrong(path, f"test id {got!r} is not text of 1 to {MAX_ID} characters, no NUL")


def _check_durations(durations: dict[Any, Any], path: Path) -> None:
    """Every id `durations` names is one, and every value a number of seconds:
    checked in C over all of them at once (joined, measured, their types as a set),
    then one by one only to name the first that is not."""
    ids = durations.keys()
    if (
        "\0" in "".join(ids)
        or "" in durations
        or max(map(len, ids), default=1) > MAX_ID
    ):
        for nodeid in ids:
            _id(nodeid, path)
    if not set(map(type, durations.values())) <= {float, int}:  # bool is no duration
        for nodeid, value in durations.items():
            if type(value) is not float and type(value) is not int:
                got = str(value)[:40]
                _wrong(
                    path, f"'durations.{str(nodeid)[:80]}' must be seconds, got {got!r}"
                )


_UP_TO = f"of at most {MAX_FIELD} characters, with no NUL"


def _at(test: str) -> str:
    return f"'results.tests.{test[:80]}'"


def _wrong(path: Path, what: str) -> NoReturn:
    raise TestmatrixError(f"{path}:1: summary's {what}")
