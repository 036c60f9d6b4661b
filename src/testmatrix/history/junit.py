"""JUnit XML files as test results: streamed through expat's events, bounded in
size, each `<testcase>` one `Result` with its `testmatrix_*` fate. No element tree
is built: building one, then walking it, cost as much again as the events."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple
from xml.parsers import expat

from ..errors import TestmatrixError
from .outcomes import Outcome

MAX_JUNIT_BYTES = 512 * 1024 * 1024  # one job's file; pytest writes a few MB
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


_EXPECTED = {
    "stale": Outcome.UNEXPECTED_PASS,
    "fails-differently": Outcome.FAILS_DIFFERENTLY,
}


def _outcome(
    props: dict[str, str], tag: str | None, kind: str, message: str
) -> Outcome:
    """The outcome from the testcase's result element and the fate testmatrix gave
    it: how an expected failure went is its `testmatrix_expectation` property, or,
    from plugins before it, its report's words."""
    if tag == "failure" and props.get("testmatrix_fate") == "expected-fail":
        said = _EXPECTED.get(props.get("testmatrix_expectation", ""))
        if said is not None:
            return said
        if "testmatrix_expectation" not in props:
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
            Outcome.SKIPPED_BY_ENTRY
            if props.get("testmatrix_fate") == "skipped"
            else Outcome.SKIPPED_IN_CODE
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


def _result(
    attrs: dict[str, str],
    props: dict[str, str],
    tag: str | None,
    kind: str | None,
    text: str | None,
    reran: bool,
    path: Path,
    before: int,
) -> Result:
    """One `<testcase>`'s result from what the parser saw in it: its attributes,
    properties, and its first result element (tag, type, message or text)."""
    classname = attrs.get("classname", "")
    name = attrs.get("name", "")
    if not name or len(classname) + len(name) > MAX_ID:
        raise TestmatrixError(
            f"{path}: testcase {before + 1}: no name, or an id over {MAX_ID} characters"
        )
    try:
        duration: float | None = float(attrs.get("time", ""))
        if not 0 <= duration < 1e9:  # type: ignore[operator]
            duration = None
    except ValueError:
        duration = None
    head = _HEADS.get(classname)
    nodeid = f"{head}::{name}" if head else node_id(classname, name)
    return make_result(nodeid, duration, props, tag, kind, text, reran)


def make_result(
    nodeid: str,
    duration: float | None,
    props: dict[str, str],
    tag: str | None,
    kind: str | None,
    text: str | None,
    reran: bool,
) -> Result:
    """A test's result from what its JUnit testcase says, or what a summary's
    `results` say it would (the same fields): its `testmatrix_*` properties, its
    first result element (tag, type, message or text) and whether a rerun passed
    it. Both sources go through here, so they decide alike."""
    # most tests: no entry decided their fate (no call to find that out)
    entry = (
        _entry(props)
        if "testmatrix_entry" in props or "testmatrix_rerun" in props
        else None
    )
    target = props.get("testmatrix_target", "")
    if tag is None:
        outcome = Outcome.RERUN_PASSED if reran else Outcome.PASSED
        # tuple.__new__: a NamedTuple's own __new__ is Python, and this runs 50,000
        # times a build
        return _new(Result, (nodeid, outcome, entry, "", "", duration, target))
    message = first_line(text)
    outcome = _outcome(props, tag, kind or "", message)
    if tag == "skipped":
        error_type = (kind or "skip")[:200]
    else:
        error_type = _error_type(kind, message)
    if outcome is Outcome.FAILS_DIFFERENTLY:  # "..., got ValueError: ..."
        got = _GOT.search(message)
        error_type = got.group(1) if got else error_type
    return Result(nodeid, outcome, entry, error_type, message, duration, target)


class _Refused(Exception):
    pass


def read_junit(path: Path) -> list[Result]:
    """Every `<testcase>` of a JUnit file, streamed (memory stays flat whatever
    its size); refused over MAX_JUNIT_BYTES."""
    try:
        size = path.stat().st_size
        if size > MAX_JUNIT_BYTES:
            raise TestmatrixError(
                f"{path}: {size} bytes, over the {MAX_JUNIT_BYTES} a JUnit file may "
                "have"
            )
        parser, cases = _reader(path)
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
        return cases
    except OSError as exc:
        raise TestmatrixError(f"{path}: cannot read: {exc.strerror}") from None
    except expat.ExpatError as exc:
        why = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise TestmatrixError(
            f"{path}:{exc.lineno or 1}: not well-formed XML: {why}"
        ) from None
    except _Refused as exc:
        raise TestmatrixError(f"{path}:1: {exc}") from None


def _check_root(tag: str, path: Path) -> None:
    if tag not in ("testsuites", "testsuite"):
        raise TestmatrixError(
            f"{path}:1: not a JUnit report (its root is <{tag[:50]}>)"
        )


def _nested(path: Path, line: int) -> TestmatrixError:
    return TestmatrixError(f"{path}:{line}: a testcase inside a testcase")


def _doctype(*_: object) -> None:
    """Refused before expat reads its entities: entity expansion is how an XML file
    eats memory."""
    raise _Refused("a JUnit file with a DTD (pytest writes none): refused")


def _reader(path: Path) -> tuple[expat.XMLParserType, list[Result]]:
    """A parser that reads each test case into the list as expat's events come."""
    cases: list[Result] = []
    parser = expat.ParserCreate()
    parser.buffer_text = True
    case: dict[str, str] | None = None  # the <testcase> being read
    depth = inner = 0  # below the test case, below its <properties> (1: children)
    props, reran, root = _NO_PROPS, False, True
    tag: str | None = None
    kind: str | None = None
    text: list[str] | None = None  # a result element's text, where it has no message

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal case, depth, props, reran, tag, kind, text, root
        if case is None:
            if name == "testcase":
                case, depth, tag, props, reran = attrs, 0, None, _NO_PROPS, False
            elif root:
                _check_root(name, path)
                root = False
            return
        depth += 1
        if name == "testcase":
            raise _nested(path, parser.CurrentLineNumber)
        if depth == 2:
            if text is not None:  # ElementTree's text: what comes before a child
                parser.CharacterDataHandler = None
        elif depth == 1:
            if name == "properties":  # its own handlers, until it ends
                props = {}
                parser.StartElementHandler = property_start
                parser.EndElementHandler = property_end
            elif name in _RESULT_TAGS:
                # a failing test with a failing teardown has both: the failure counts
                if tag is None or name == "failure":
                    tag, kind = name, attrs.get("type")
                    message = attrs.get("message")
                    if message:
                        text = [message]
                    else:
                        text = []
                        parser.CharacterDataHandler = text.append
            elif name in RERUN_TAGS:
                reran = True

    def end(name: str) -> None:
        nonlocal case, depth, text
        if case is None:
            return
        if depth:
            if depth == 1 and text is not None:
                parser.CharacterDataHandler = None
            depth -= 1
            return
        joined = None if text is None else "".join(text)
        cases.append(_result(case, props, tag, kind, joined, reran, path, len(cases)))
        case, text = None, None

    def property_start(name: str, attrs: dict[str, str]) -> None:
        # most of a file's elements: its tests' properties
        nonlocal inner
        inner += 1
        if inner == 1:
            props[attrs.get("name", "")] = attrs.get("value", "")
        if name == "testcase":
            raise _nested(path, parser.CurrentLineNumber)

    def property_end(name: str) -> None:
        nonlocal inner, depth
        if inner:
            inner -= 1
            return
        depth -= 1  # </properties>
        parser.StartElementHandler = start
        parser.EndElementHandler = end

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = _doctype
    return parser, cases
