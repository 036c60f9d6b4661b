"""JUnit XML files as test results: streamed with ElementTree's pull parser,
bounded in size, each `<testcase>` one `Result` with its `testmatrix_*` fate."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

from ..errors import TestmatrixError
from .outcomes import Outcome

MAX_JUNIT_BYTES = 512 * 1024 * 1024  # one job's file; pytest writes a few MB
MAX_ID = 4096  # a test id longer than this is no pytest node id
MAX_MESSAGE = 500  # the first line of a message, cut here
MAX_TEXT = 2000  # an entry's reason or location
CHUNK = 1 << 20
PROPERTY = "testmatrix_"
# Maven Surefire's elements for failures that a rerun then passed (pytest writes none)
RERUN_TAGS = frozenset({"rerunFailure", "rerunError", "flakyFailure", "flakyError"})
_ERROR_NAME = re.compile(r"([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failed))[:\s]")


class Entry(NamedTuple):
    """A skiplist entry as a report names it."""

    location: str
    kind: str
    reason: str
    issue: str


class Result(NamedTuple):
    """One test's result in one job."""

    nodeid: str
    outcome: Outcome
    entry: Entry | None
    error_type: str
    message: str
    duration: float | None
    target: str  # testmatrix_target, '' where the file does not say


class Case(NamedTuple):
    """A `<testcase>` as read: its JUnit address, before the node id is known."""

    classname: str
    name: str
    result: Result


def node_id(classname: str, name: str) -> str:
    """A pytest node id from JUnit's address (pytest writes the module path with dots,
    then its classes): the last part named like a test module (test_*, *_test) ends
    the path; parts after it are classes."""
    parts = classname.split(".") if classname else []
    module = len(parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].startswith("test") or parts[i].endswith("_test"):
            module = i + 1
            break
    path = "/".join(parts[:module])
    head = f"{path}.py" if path else ""
    return "::".join([head, *parts[module:], name]) if head else name


def junit_address(nodeid: str) -> tuple[str, str]:
    """What pytest writes for a node id: (classname, name)."""
    names = nodeid.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    return ".".join(names[:-1]), names[-1]


def first_line(text: str | None) -> str:
    if not text:
        return ""
    for line in text.strip().splitlines():
        return line.strip()[:MAX_MESSAGE]
    return ""


def _error_type(kind: str | None, message: str) -> str:
    if kind:
        return kind[:200]
    found = _ERROR_NAME.match(message)
    return found.group(1) if found else ""


def _outcome(fate: str, tag: str | None, kind: str, message: str) -> Outcome:
    """The outcome from the testcase's result element and the fate testmatrix gave
    it (an expected failure's report says how it went in its message)."""
    if fate == "expected-fail" and tag == "failure":
        if " fails differently on " in message:
            return Outcome.FAILS_DIFFERENTLY
        if " passes on " in message and "stale" in message:
            return Outcome.UNEXPECTED_PASS
    if tag == "failure":
        return Outcome.FAILED
    if tag == "error":
        return Outcome.ERROR
    if tag == "skipped":
        if kind == "pytest.xfail":
            return Outcome.EXPECTED_FAIL
        return Outcome.SKIPPED_BY_ENTRY if fate == "skipped" else Outcome.SKIPPED_IN_CODE
    return Outcome.PASSED


_GOT = re.compile(r", got ([A-Za-z_][\w.]*)")
_RERUN_AT = re.compile(r"\[([^\[\]]+:\d+)\]$")


def _entry(props: dict[str, str]) -> Entry | None:
    where = props.get("entry")
    kind = props.get("entry_kind", "")
    reason = props.get("reason", "")
    if not where:  # a flaky entry: its rerun property cites it, "... [file:line]"
        rerun = props.get("rerun", "")
        found = _RERUN_AT.search(rerun)
        if not found:
            return None
        where, kind, reason = found.group(1), "flaky", rerun[: found.start()].strip()
    issue = props.get("issue", "")
    return Entry(where[:MAX_TEXT], kind[:100], reason[:MAX_TEXT], issue[:MAX_TEXT])


def _case(element: ET.Element, path: Path, number: int) -> Case:
    props: dict[str, str] = {}
    tag = kind = None
    text: str | None = None
    reran = False
    for child in element:
        ctag = child.tag
        if ctag == "properties":
            for prop in child:
                name = prop.get("name", "")
                if name.startswith(PROPERTY):
                    props[name[len(PROPERTY) :]] = prop.get("value", "")
        elif ctag in ("failure", "error", "skipped"):
            # a failing test with a failing teardown has both: the first one counts
            if tag is None or ctag == "failure":
                tag, kind = ctag, child.get("type")
                text = child.get("message") or child.text
        elif ctag in RERUN_TAGS:
            reran = True
    classname = element.get("classname", "")
    name = element.get("name", "")
    if not name or len(classname) + len(name) > MAX_ID:
        raise TestmatrixError(
            f"{path}: testcase {number}: no name, or an id over {MAX_ID} characters"
        )
    message = first_line(text)
    outcome = _outcome(props.get("fate", ""), tag, kind or "", message)
    if reran and outcome is Outcome.PASSED:
        outcome = Outcome.RERUN_PASSED
    skipped = tag == "skipped"
    error_type = (kind or "skip")[:200] if skipped else _error_type(kind, message)
    if outcome is Outcome.FAILS_DIFFERENTLY:  # "..., got ValueError: ..."
        got = _GOT.search(message)
        error_type = got.group(1) if got else error_type
    try:
        duration: float | None = float(element.get("time", ""))
    except ValueError:
        duration = None
    if duration is not None and not 0 <= duration < 1e9:
        duration = None
    result = Result(
        "", outcome, _entry(props), error_type, message, duration, props.get("target", "")
    )
    return Case(classname, name, result)


def read_junit(path: Path) -> list[Case]:
    """Every `<testcase>` of a JUnit file, streamed; a DTD (entity expansion) and
    files over MAX_JUNIT_BYTES are refused."""
    try:
        size = path.stat().st_size
        if size > MAX_JUNIT_BYTES:
            raise TestmatrixError(
                f"{path}: {size} bytes, over the {MAX_JUNIT_BYTES} a JUnit file may have"
            )
        with open(path, "rb") as handle:
            return _parse(handle, path)
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read: {exc.strerror}") from None


def _parse(handle, path: Path) -> list[Case]:  # type: ignore[no-untyped-def]
    parser = ET.XMLPullParser(events=("start", "end"))
    cases: list[Case] = []
    prolog = b""
    started = False
    depth = 0
    while True:
        chunk = handle.read(CHUNK)
        if not started:
            prolog += chunk
            if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                raise TestmatrixError(
                    f"{path}:1: a JUnit file with a DTD (pytest writes none): refused"
                )
        try:
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            for event, element in parser.read_events():
                if event == "start":
                    if not started:
                        started, prolog = True, b""
                        if element.tag not in ("testsuites", "testsuite"):
                            raise TestmatrixError(
                                f"{path}:1: not a JUnit report (its root is "
                                f"<{element.tag[:50]}>)"
                            )
                    depth += element.tag == "testcase"
                elif element.tag == "testcase":
                    depth -= 1
                    if depth == 0:
                        cases.append(_case(element, path, len(cases) + 1))
                        element.clear()
        except ET.ParseError as exc:
            line = exc.position[0] if exc.position else 1
            why = str(exc).split(":")[0]
            raise TestmatrixError(f"{path}:{line}: not well-formed XML: {why}") from None
        if not chunk:
            break
    if not started:
        raise TestmatrixError(f"{path}:1: empty: not a JUnit report")
    return cases
