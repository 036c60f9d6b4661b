"""JUnit XML files as test results: streamed with ElementTree's pull parser,
bounded in size, each `<testcase>` one `Result` with its `testmatrix_*` fate."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple, cast

from ..errors import TestmatrixError
from .outcomes import Outcome

MAX_JUNIT_BYTES = 512 * 1024 * 1024  # one job's file; pytest writes a few MB
MAX_TREE_BYTES = 64 * 1024 * 1024  # parsed whole below this size, streamed above
CHUNK = 1 << 20
MAX_ID = 4096  # a test id longer than this is no pytest node id
MAX_MESSAGE = 500  # the first line of a message, cut here
MAX_TEXT = 2000  # an entry's reason or location
# Maven Surefire's elements for failures that a rerun then passed (pytest writes none)
RERUN_TAGS = frozenset({"rerunFailure", "rerunError", "flakyFailure", "flakyError"})
_ERROR_NAME = re.compile(
    r"([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failed))[:\s]"
)


class Entry(NamedTuple):
    """A skiplist entry as a report names it."""

    location: str
    kind: str
    reason: str
    issue: str


class Result(NamedTuple):
    """One test's result in one job."""

    nodeid: str  # as pytest's JUnit address reads (`node_id`); a summary may correct it
    outcome: Outcome
    entry: Entry | None
    error_type: str
    message: str
    duration: float | None
    target: str  # testmatrix_target, '' where the file does not say


def node_id(classname: str, name: str) -> str:
    """`_node_id`, its path and classes worked out once per class name."""
    head = _HEADS.get(classname)
    if head is None:
        if len(_HEADS) > 100_000:
            _HEADS.clear()
        head = _HEADS[classname] = _node_id(classname, "")[:-2]
    return f"{head}::{name}" if head else name


_HEADS: dict[str, str] = {}


def _node_id(classname: str, name: str) -> str:
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
        return (
            Outcome.SKIPPED_BY_ENTRY if fate == "skipped" else Outcome.SKIPPED_IN_CODE
        )
    return Outcome.PASSED


_GOT = re.compile(r", got ([A-Za-z_][\w.]*)")
_RERUN_AT = re.compile(r"\[([^\[\]]+:\d+)\]$")


def _entry(props: dict[str, str]) -> Entry | None:
    where = props.get("testmatrix_entry")
    if not where and "testmatrix_rerun" not in props:
        return None  # most tests: no entry decided their fate
    kind = props.get("testmatrix_entry_kind", "")
    reason = props.get("testmatrix_reason", "")
    if not where:  # a flaky entry: its rerun property cites it, "... [file:line]"
        rerun = props.get("testmatrix_rerun", "")
        found = _RERUN_AT.search(rerun)
        if not found:
            return None
        where, kind, reason = found.group(1), "flaky", rerun[: found.start()].strip()
    issue = props.get("testmatrix_issue", "")
    return Entry(where[:MAX_TEXT], kind[:100], reason[:MAX_TEXT], issue[:MAX_TEXT])


_NO_PROPS: dict[str, str] = {}
_new = tuple.__new__
_RESULT_TAGS = frozenset({"failure", "error", "skipped"})


def _case(element: ET.Element, path: Path, number: int) -> Result:
    # the hot loop of an ingest (50,000 calls a nightly build): plain passes take
    # the shortest path
    props = _NO_PROPS
    tag = kind = text = None
    reran = False
    for child in element:
        ctag = child.tag
        if ctag == "properties":
            props = {p.get("name", ""): p.get("value", "") for p in child}
        elif ctag in _RESULT_TAGS:
            # a failing test with a failing teardown has both: the failure counts
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
    try:
        duration: float | None = float(element.get("time", ""))
        if not 0 <= duration < 1e9:  # type: ignore[operator]
            duration = None
    except ValueError:
        duration = None
    entry = _entry(props) if props else None
    target = props.get("testmatrix_target", "")
    head = _HEADS.get(classname)
    nodeid = f"{head}::{name}" if head else node_id(classname, name)
    if tag is None:
        outcome = Outcome.RERUN_PASSED if reran else Outcome.PASSED
        # tuple.__new__: a NamedTuple's own __new__ is Python, and this runs 50,000
        # times a build
        return _new(Result, (nodeid, outcome, entry, "", "", duration, target))
    message = first_line(text)
    outcome = _outcome(props.get("testmatrix_fate", ""), tag, kind or "", message)
    if tag == "skipped":
        error_type = (kind or "skip")[:200]
    else:
        error_type = _error_type(kind, message)
    if outcome is Outcome.FAILS_DIFFERENTLY:  # "..., got ValueError: ..."
        got = _GOT.search(message)
        error_type = got.group(1) if got else error_type
    return Result(nodeid, outcome, entry, error_type, message, duration, target)


class _NoDTD(ET.TreeBuilder):
    """ElementTree's builder (in C), refusing a DTD before expat reads its entities:
    pytest writes none, and entity expansion is how an XML file eats memory."""

    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise _Refused("a JUnit file with a DTD (pytest writes none): refused")


class _Refused(Exception):
    pass


def read_junit(path: Path) -> list[Result]:
    """Every `<testcase>` of a JUnit file: parsed whole up to MAX_TREE_BYTES (as
    fast as ElementTree goes), streamed above, refused over MAX_JUNIT_BYTES."""
    try:
        size = path.stat().st_size
        if size > MAX_JUNIT_BYTES:
            raise TestmatrixError(
                f"{path}: {size} bytes, over the {MAX_JUNIT_BYTES} a JUnit file may "
                "have"
            )
        with open(path, "rb") as handle:
            if size <= MAX_TREE_BYTES:
                return _whole(handle, path)
            return _streamed(handle, path)
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read: {exc.strerror}") from None
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else 1
        why = str(exc).split(":")[0]
        raise TestmatrixError(f"{path}:{line}: not well-formed XML: {why}") from None
    except _Refused as exc:
        raise TestmatrixError(f"{path}:1: {exc}") from None


def _check_root(tag: str, path: Path) -> None:
    if tag not in ("testsuites", "testsuite"):
        raise TestmatrixError(
            f"{path}:1: not a JUnit report (its root is <{tag[:50]}>)"
        )


def _whole(handle: BinaryIO, path: Path) -> list[Result]:
    root = ET.parse(handle, parser=ET.XMLParser(target=_NoDTD())).getroot()
    _check_root(root.tag, path)
    return [_case(e, path, n) for n, e in enumerate(root.iter("testcase"), 1)]


def _streamed(handle: BinaryIO, path: Path) -> list[Result]:
    """A big file, chunk by chunk: each test case let go once read. ElementTree's
    streaming takes only its own builder, so a DTD is looked for in the bytes
    before the root element, before the parser sees them."""
    cases: list[Result] = []
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    prolog: bytes | None = b""  # None once the root element started
    while chunk := handle.read(CHUNK):
        if prolog is not None:
            prolog += chunk
            if b"<!DOCTYPE" in prolog:
                raise _Refused("a JUnit file with a DTD (pytest writes none): refused")
        parser.feed(chunk)
        # start and end events come with elements (typeshed allows other events)
        events = cast("Iterator[tuple[str, ET.Element]]", parser.read_events())
        for event, element in events:
            if event == "start":
                if prolog is not None:
                    _check_root(element.tag, path)
                    prolog = None
            elif element.tag == "testcase":
                cases.append(_case(element, path, len(cases) + 1))
                element.clear()  # what is read is let go: memory stays flat
    parser.close()
    if prolog is not None:
        raise TestmatrixError(f"{path}:1: empty: not a JUnit report")
    return cases
