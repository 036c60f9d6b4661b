"""Expected failures with a signature: a test an entry expects to fail runs, and its
report says whether it failed as recorded, passed (the entry is stale) or failed
differently. The plugin registers this module where an entry expects failures.

pytest's own xfail checks an exception type at most; this checks the message too, so
a test that starts failing for another reason is never hidden behind an old entry.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from testmatrix.core import errorpattern
from testmatrix.core.fate import Fate, FateKind
from testmatrix.core.model import Signature

# what happened to an expected failure, in the report's user_properties (they reach
# xdist's controller and the JUnit file)
PROPERTY = "testmatrix_expectation"
AS_EXPECTED, STALE, DIFFERENT = "expected-fail", "stale", "fails-differently"


def matches(signature: Signature, error: BaseException) -> bool:
    """Whether an exception is the recorded one: its class (or a base class) by name
    or dotted name, and the message pattern found in its message."""
    return matches_names(signature, class_names(type(error)), str(error))


def class_names(cls: type) -> set[str]:
    """What a signature may call an exception class: any class of its MRO, by name
    or dotted name."""
    return {
        name
        for base in cls.__mro__
        for name in (base.__name__, f"{base.__module__}.{base.__qualname__}")
    }


def matches_names(signature: Signature, names: set[str], message: str) -> bool:
    """`matches`, from a recorded error's class names and message (the audit reads
    them from its run's record)."""
    if signature.error not in names:
        return False
    return signature.match is None or errorpattern.search(signature.match, message)


def describe(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    from testmatrix.plugin import FATE

    fate: Fate | None = item.stash.get(FATE, None)
    if fate is None or fate.kind is not FateKind.EXPECTED_FAIL or fate.entry is None:
        return report
    signature = fate.entry.fails
    assert signature is not None  # an EXPECTED_FAIL fate comes from such an entry
    if report.when == "teardown":
        return report
    where = f"[{fate.entry.location}]"
    if call.excinfo is not None and report.failed:
        error = call.excinfo.value
        if matches(signature, error):
            report.outcome = "skipped"
            report.wasxfail = f"expected on {fate.platform}: {describe(error)} {where}"
            report.user_properties.append((PROPERTY, AS_EXPECTED))
        else:
            report.user_properties.append((PROPERTY, DIFFERENT))
            report.sections.append(
                (
                    "testmatrix: fails differently",
                    f"expected on {fate.platform}: {signature} {where}\n"
                    f"got: {describe(error)}",
                )
            )
            report.longrepr = (
                f"{item.nodeid} fails differently on {fate.platform}: expected "
                f"{signature} ({fate.entry.reason}) {where}, got {describe(error)}\n\n"
                f"{report.longrepr}"
            )
    elif report.when == "call" and report.passed:
        report.outcome = "failed"
        report.user_properties.append((PROPERTY, STALE))
        report.longrepr = (
            f"{item.nodeid} passes on {fate.platform}, but {where} expects it to fail "
            f"with {signature}: the entry is stale, remove it ({fate.entry.reason})"
        )
    return report
