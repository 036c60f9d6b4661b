"""The outcomes a test result can have, their codes in the store, and their classes."""

from __future__ import annotations

import enum


class Outcome(str, enum.Enum):
    """What happened to one test in one job; the value is the name JSON gives."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    SKIPPED_BY_ENTRY = "skipped_by_entry"
    SKIPPED_IN_CODE = "skipped_in_code"
    EXPECTED_FAIL = "expected_fail"
    UNEXPECTED_PASS = "unexpected_pass"
    FAILS_DIFFERENTLY = "fails_differently"
    RERUN_PASSED = "rerun_passed"


# one letter per outcome: the store's integer code is its index + 1, and a test's
# recent history is a string of these letters (lower case: that build's jobs disagreed)
LETTERS = {
    Outcome.PASSED: "P",
    Outcome.FAILED: "F",
    Outcome.ERROR: "E",
    Outcome.SKIPPED_BY_ENTRY: "S",
    Outcome.SKIPPED_IN_CODE: "K",
    Outcome.EXPECTED_FAIL: "X",
    Outcome.UNEXPECTED_PASS: "U",
    Outcome.FAILS_DIFFERENTLY: "D",
    Outcome.RERUN_PASSED: "R",
}
CODE = {outcome: i + 1 for i, outcome in enumerate(Outcome)}
BY_CODE = {code: outcome for outcome, code in CODE.items()}
BY_LETTER = {letter: outcome for outcome, letter in LETTERS.items()}

# Several jobs of one build may run a test on one target (two suites, a retried
# shard): the build's outcome there is the first of these that any job had.
SEVERITY = (
    Outcome.ERROR,
    Outcome.FAILED,
    Outcome.FAILS_DIFFERENTLY,
    Outcome.UNEXPECTED_PASS,
    Outcome.RERUN_PASSED,
    Outcome.PASSED,
    Outcome.EXPECTED_FAIL,
    Outcome.SKIPPED_IN_CODE,
    Outcome.SKIPPED_BY_ENTRY,
)
RANK = {outcome: i for i, outcome in enumerate(SEVERITY)}

# red in CI: what a build's matrix shows as a failure
RED = frozenset(
    {
        Outcome.FAILED,
        Outcome.ERROR,
        Outcome.FAILS_DIFFERENTLY,
        Outcome.UNEXPECTED_PASS,
    }
)
SKIPPED = frozenset({Outcome.SKIPPED_BY_ENTRY, Outcome.SKIPPED_IN_CODE})
# what the test itself did, whatever an entry expected: flakiness is about this
TEST_PASSED = frozenset({Outcome.PASSED, Outcome.RERUN_PASSED, Outcome.UNEXPECTED_PASS})
TEST_FAILED = frozenset(
    {
        Outcome.FAILED,
        Outcome.ERROR,
        Outcome.EXPECTED_FAIL,
        Outcome.FAILS_DIFFERENTLY,
    }
)
PASSED_LETTERS = frozenset(LETTERS[o] for o in TEST_PASSED)
FAILED_LETTERS = frozenset(LETTERS[o] for o in TEST_FAILED)


def worst(outcomes: list[Outcome]) -> Outcome:
    """The outcome a build shows for a test that several of its jobs ran."""
    return min(outcomes, key=RANK.__getitem__)


def letter_of(outcomes: list[Outcome]) -> str:
    """The build's letter: the worst outcome's, lower case where the jobs disagreed
    on whether the test passed (one commit, two answers)."""
    letter = LETTERS[worst(outcomes)]
    did = {o in TEST_PASSED for o in outcomes if o in TEST_PASSED or o in TEST_FAILED}
    return letter.lower() if len(did) > 1 else letter
