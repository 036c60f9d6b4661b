"""fails.match patterns: a safe subset of regular expressions, found where `re` finds
them, refused outside the subset, and matched without backtracking."""

from __future__ import annotations

import random
import re

import pytest

from testmatrix.core import errorpattern


@pytest.mark.parametrize(
    "pattern, why",
    [
        ("(a+)+$", "'(' (column 1): groups are not in the language"),
        ("(?=a)b", "'(' (column 1): groups are not in the language"),
        ("a**", "'*' (column 3) must follow one character"),
        ("a+?", "'?' (column 3) must follow one character"),
        (r"(a)\1", "'(' (column 1): groups"),
        (r"a\1", "'\\1' (column 2) is not in the language: backreferences"),
        ("a{2,}", "'{' (column 2): counted repetition is not in the language"),
        ("a^b", "'^' (column 2) may only start it"),
        ("a$b", "'$' (column 2) may only end an alternative"),
        ("[ab", "the class opened at column 1 is not closed"),
        ("x" * 201, "it has 201 characters, more than 200"),
    ],
)
def test_patterns_outside_the_language_are_refused_with_the_reason(pattern, why):
    refused = errorpattern.check(pattern)
    assert refused is not None and refused.startswith(why)


ATOMS = ("a", "b", ".", r"\d", r"\w", r"\s", "[ab]", "[^a]", r"\.", " ", r"\(")


def _pattern(rng: random.Random) -> str:
    items = [
        rng.choice(ATOMS) + rng.choice(("", "", "?", "*", "+"))
        for _ in range(rng.randint(0, 5))
    ]
    text = ("^" if rng.random() < 0.2 else "") + "".join(items)
    text += "$" if rng.random() < 0.2 else ""
    return text + ("|" + rng.choice(ATOMS) if rng.random() < 0.1 else "")


def test_every_pattern_of_the_language_finds_what_re_finds():
    rng = random.Random(20)
    checked = 0
    for _ in range(1000):
        pattern = _pattern(rng)
        message = "".join(rng.choice("ab1 .(\nc") for _ in range(rng.randint(0, 12)))
        assert errorpattern.check(pattern) is None, pattern
        found = errorpattern.search(pattern, message)
        assert found is (re.search(pattern, message) is not None), (pattern, message)
        checked += 1
    assert checked == 1000


def test_only_the_stated_length_of_a_message_is_searched():
    limit = errorpattern.MAX_MESSAGE
    assert errorpattern.search("b", "a" * (limit - 1) + "b")
    assert not errorpattern.search("b", "a" * limit + "b")
    assert errorpattern.search("a$", "a" * (limit + 5))  # $: the end of what is read


def test_a_pattern_that_backtracks_for_hours_in_re_is_decided(inprocess, tiny):
    """`re` takes hours on this pattern and message (each `\\w*` multiplies the ways
    to split the a's); a run under an entry with it ends, and judges the error."""
    pattern = r"\w*\w*\w*\w*\w*x"
    root = tiny(
        {
            "tests/unit/test_a.py": (
                "def test_a():\n"
                f"    raise ValueError('{'a' * 3000}')\n"
                "def test_b():\n"
                f"    raise ValueError('{'a' * 3000}x')\n"
            ),
            "skiplists/platforms/cuda.toml": (
                '[platform]\nhardware = "cuda"\n\n[[deselect]]\n'
                'tests = ["tests/unit/test_a.py"]\nreason = "r"\n'
                f"fails = {{ error = 'ValueError', match = '{pattern}' }}\n"
            ),
        }
    )
    result = inprocess(root, "tests/unit", "--platform=cuda")
    assert result.counts() == {"failed": 1, "xfailed": 1}
    assert "test_a fails differently on cuda" in result.stdout
