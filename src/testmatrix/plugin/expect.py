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
from testmatrix.plugin.keys import AS_EXPECTED as AS_EXPECTED
from testmatrix.plugin.keys import DIFFERENT as DIFFERENT
from testmatrix.plugin.keys import EXPECTATION as PROPERTY
from testmatrix.plugin.keys import STALE as STALE
from testmatrix.plugin.keys import hook_names


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


def _note(
    item: pytest.Item,
    report: pytest.TestReport,
    expectation: str,
    teardown: pytest.TestReport | None = None,
) -> None:
    """The expectation in the test's report, and where JUnit reads properties: the
    teardown report (given, once it exists; else copied from the item later)."""
    report.user_properties.append((PROPERTY, expectation))
    if teardown is None:
        item.user_properties.append((PROPERTY, expectation))
    else:
        teardown.user_properties.append((PROPERTY, expectation))


def describe(error: BaseException) -> str:
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


# set while this module runs an expected failure's protocol: a passing call is
# judged after its teardown, which may still raise the recorded error
_PROTOCOL = pytest.StashKey[bool]()
# the teardown's error, as (matches the signature, its description)
_TEARDOWN = pytest.StashKey[tuple[bool, str]]()


def _expected(item: pytest.Item) -> Fate | None:
    from testmatrix.plugin.decide import fate_of
    from testmatrix.plugin.keys import STATE

    state = item.config.stash.get(STATE, None)
    fate = fate_of(state, item) if state is not None else None
    if fate is None or fate.kind is not FateKind.EXPECTED_FAIL or fate.entry is None:
        return None
    return fate


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> bool | None:
    """Runs an expected failure's phases, then logs their reports: a call that
    passes is judged once the teardown has run (a fixture's teardown may raise the
    recorded error). pytest-forked's tests keep its protocol, judged per phase."""
    if _expected(item) is None or _forked(item):
        return None
    from _pytest.runner import runtestprotocol  # the runner's phases, unlogged

    hook = item.ihook
    hook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    item.stash[_PROTOCOL] = True
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    _judge_passed_call(item, reports)
    for report in reports:
        hook.pytest_runtest_logreport(report=report)
    hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _forked(item: pytest.Item) -> bool:
    forked = item.config.getoption("forked", False)
    return bool(forked or item.get_closest_marker("forked"))


def _judge_passed_call(item: pytest.Item, reports: list[pytest.TestReport]) -> None:
    """A passing call's verdict, from its teardown: failed as recorded there, failed
    differently, or passed (the entry is stale)."""
    fate = _expected(item)
    call = next((r for r in reports if r.when == "call"), None)
    if fate is None or call is None or not call.passed:
        return
    teardown = next((r for r in reports if r.when == "teardown"), None)
    seen = item.stash.get(_TEARDOWN, None)
    where = f"[{fate.entry.location if fate.entry else ''}]"
    if teardown is None or not teardown.failed or seen is None:
        _stale(item, fate, call, teardown)
        return
    matched, error = seen
    if matched:  # the recorded error, raised by a fixture's teardown
        call.outcome = "skipped"
        call.wasxfail = f"expected on {fate.platform}: {error} at teardown {where}"
        _note(item, call, AS_EXPECTED, teardown)
        teardown.outcome = "passed"
        teardown.longrepr = None
    else:
        _note(item, call, DIFFERENT, teardown)
        teardown.longrepr = (
            f"{item.nodeid} fails differently on {fate.platform} at teardown: "
            f"expected {fate.entry.fails if fate.entry else ''} {where}, got "
            f"{error}\n\n{teardown.longrepr}"
        )


def _stale(
    item: pytest.Item,
    fate: Fate,
    report: pytest.TestReport,
    teardown: pytest.TestReport | None = None,
) -> None:
    assert fate.entry is not None
    report.outcome = "failed"
    _note(item, report, STALE, teardown)
    report.longrepr = (
        f"{item.nodeid} passes on {fate.platform}, but [{fate.entry.location}] "
        f"expects it to fail with {fate.entry.fails}: the entry is stale, remove it "
        f"({fate.entry.reason})"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    fate = _expected(item)
    if fate is None:
        return report
    entry = fate.entry
    assert entry is not None and entry.fails is not None  # what _expected returns
    signature = entry.fails
    if report.when == "teardown":
        if call.excinfo is not None and report.failed:
            error = call.excinfo.value
            item.stash[_TEARDOWN] = (matches(signature, error), describe(error))
        return report
    where = f"[{entry.location}]"
    if call.excinfo is not None and report.failed:
        error = call.excinfo.value
        if matches(signature, error):
            report.outcome = "skipped"
            report.wasxfail = f"expected on {fate.platform}: {describe(error)} {where}"
            _note(item, report, AS_EXPECTED)
        else:
            _note(item, report, DIFFERENT)
            report.sections.append(
                (
                    "testmatrix: fails differently",
                    f"expected on {fate.platform}: {signature} {where}\n"
                    f"got: {describe(error)}",
                )
            )
            report.longrepr = (
                f"{item.nodeid} fails differently on {fate.platform}: expected "
                f"{signature} ({entry.reason}) {where}, got {describe(error)}\n\n"
                f"{report.longrepr}"
            )
    elif report.when == "call" and report.passed and _PROTOCOL not in item.stash:
        _stale(item, fate, report)  # judged now: another plugin runs the phases
    return report


def __dir__() -> list[str]:
    """The hooks alone (`keys.hook_names`), as `testmatrix.plugin`'s."""
    return hook_names(globals())
