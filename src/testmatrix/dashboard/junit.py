"""Per-test results from a session's JUnit XML and the testmatrix_* properties the
plugin writes into it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import TestmatrixError

PROPERTY = "testmatrix_"
# A JUnit file bigger than this is refused, not read: 400 jobs of vLLM's size write
# a few MB each.
MAX_BYTES = 256 * 1024 * 1024
MAX_MESSAGE = 500  # characters kept of a message's first line


@dataclass(frozen=True)
class Case:
    """One <testcase>: its test id, outcome (a key of data.OUTCOMES), properties and
    the first line of its failure, error or skip message."""

    test: str
    outcome: str
    properties: dict[str, str]
    message: str | None


def junit_address(test: str) -> tuple[str, str]:
    """(classname, name) pytest's JUnit writer gives a node id (its
    mangle_test_address, restated: _pytest is private)."""
    head, bracket, params = test.partition("[")
    names = head.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    if bracket:
        names[-1] += f"[{params}"
    return ".".join(names[:-1]), names[-1]


def first_line(text: str | None) -> str | None:
    if not text:
        return None
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:MAX_MESSAGE]
    return None


def classify(
    case: ET.Element, props: dict[str, str], flaky: bool
) -> tuple[str, str | None]:
    """The outcome and message of a <testcase>, counted as the plugin's tally
    counts them (an entry's expected failures apart)."""
    expectation = props.get("expectation")
    if expectation is None and props.get("fate") == "expected-fail":
        expectation = _expectation_from_text(case)
    failure = case.find("failure")
    error = case.find("error")
    skipped = case.find("skipped")
    if failure is not None or error is not None:
        bad = failure if failure is not None else error
        assert bad is not None
        message = first_line(bad.get("message") or bad.text)
        if expectation == "stale":
            return "unexpected_pass", message
        if expectation == "fails-differently":
            return "fails_differently", message
        return ("failed" if failure is not None else "error"), message
    if skipped is not None:
        message = first_line(skipped.get("message") or skipped.text)
        if expectation == "expected-fail":
            return "expected_fail", message
        if props.get("fate") == "skipped":
            return "skipped_by_entry", message
        return "skipped_other", message
    return ("flaky" if flaky else "passed"), None


def _expectation_from_text(case: ET.Element) -> str:
    """An expected failure's expectation where the JUnit file lacks the property
    (plugins before it carried one): from the outcome and the plugin's own words."""
    bad = case.find("failure")
    if bad is None:
        bad = case.find("error")
    if bad is None:
        return "expected-fail"
    text = bad.get("message") or ""
    return "stale" if "the entry is stale" in text else "fails-differently"


def read_cases(
    path: Path, ids: Collection[str], flaky: Collection[str]
) -> Iterator[Case]:
    """The test cases of a JUnit file. `ids` are the session's node ids (its
    summary's durations): a case takes the id whose JUnit address it has, else one
    rebuilt from its classname."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise TestmatrixError(
            f"{path}: cannot read the JUnit file: {exc.strerror}"
        ) from None
    if size > MAX_BYTES:
        raise TestmatrixError(
            f"{path}: JUnit file of {size} bytes is over the {MAX_BYTES} byte limit"
        )
    by_address = {junit_address(t): t for t in ids}
    # ElementTree resolves no external entity, and the expat it uses refuses
    # exponential entity expansion: a hostile file cannot make it fetch or explode.
    try:
        for _, element in ET.iterparse(path, events=("end",)):
            if element.tag != "testcase":
                continue
            classname = element.get("classname", "")
            name = element.get("name", "")
            test = by_address.get((classname, name)) or _rebuilt(classname, name)
            props = {
                p.get("name", "")[len(PROPERTY) :]: p.get("value", "")
                for p in element.iter("property")
                if p.get("name", "").startswith(PROPERTY)
            }
            outcome, message = classify(element, props, test in flaky)
            yield Case(test, outcome, props, message)
            element.clear()
    except ET.ParseError as exc:
        line = exc.position[0]
        raise TestmatrixError(f"{path}:{line}: not JUnit XML: {exc.msg}") from None


def _rebuilt(classname: str, name: str) -> str:
    """A test id from a JUnit address alone: a guess (a class and a module look
    alike), used only for cases the summary does not list."""
    return f"{classname.replace('.', '/')}.py::{name}" if classname else name
