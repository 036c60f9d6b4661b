"""The skiplists' regular expressions: the same answers as `re`, in linear time."""

from __future__ import annotations

import random
import re
import sys
import threading

import pytest

from testmatrix.core import saferegex
from testmatrix.core.saferegex import (
    MAX_COUNT,
    PatternError,
    SafePattern,
    check,
    compile_safe,
)

PY311 = sys.version_info >= (3, 11)  # atomic groups, possessive quantifiers
DEFAULT_PARAMS = (
    r"(^|\.)(models?|model_(name|id|path|info)|\w+_model|server|remote_server"
    r"|llm)(\.|$)"
)
DEFAULT_MODEL = r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$"

ATOMS = ["a", "b", ".", "[ab]", "[^a]", r"\d", r"\w", r"\s", r"\.", "\n", "1"]
TEXT_CHARS = "ab1 .\n_-/"


def _pattern(rng: random.Random, depth: int = 0) -> str:
    """A random pattern of the language: atoms, groups, alternation, every
    quantifier and the anchors, anywhere."""
    parts = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.15 and depth < 3:
            inner = "|".join(_pattern(rng, depth + 1) for _ in range(rng.randint(1, 3)))
            piece = (
                rng.choice(["(", "(?:", "(?P<g>"][: 2 if depth else 3]) + inner + ")"
            )
            piece = piece.replace("(?P<g>", "(?:") if "(?P<g>" in inner else piece
        elif roll < 0.22:
            parts.append(rng.choice(["^", "$", r"\A", r"\Z"]))
            continue
        else:
            piece = rng.choice(ATOMS)
        quant = rng.choice(
            [
                "",
                "",
                "",
                "*",
                "+",
                "?",
                "*?",
                "+?",
                "{2}",
                "{0,2}",
                "{1,}",
                "{,2}",
                "{,}",
            ]
        )
        parts.append(piece + quant)
    return "".join(parts)


def _texts(rng: random.Random) -> list[str]:
    texts = ["", "\n", "a", "ab\n", "aa1", "b.a"]
    for _ in range(24):
        texts.append("".join(rng.choice(TEXT_CHARS) for _ in range(rng.randint(0, 9))))
    return texts


def test_random_patterns_answer_as_re_does() -> None:
    rng = random.Random(20261207)
    compared = 0
    for _ in range(160):
        pattern = _pattern(rng)
        try:
            expected_re = re.compile(pattern)
        except re.error:
            continue  # the generator's rare slip (a quantified anchor): not ours
        safe = SafePattern(pattern)
        for text in _texts(rng):
            assert safe.search(text) == bool(expected_re.search(text)), (pattern, text)
            assert safe.match(text) == bool(expected_re.match(text)), (pattern, text)
            compared += 2
    assert compared > 8_000


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        (
            DEFAULT_PARAMS,
            [
                "model",
                "model_info",
                "cfg.model",
                "x.llm",
                "modelx",
                "my_model",
                "remote_server.url",
                "server2",
                "",
                "llm.",
            ],
        ),
        (
            DEFAULT_MODEL,
            [
                "facebook/opt-125m",
                "a/b",
                "/x",
                "org/",
                "org/name\n",
                "org/na me",
                "o/n/x",
                "0rg/x.y-z",
            ],
        ),
        (r"a$", ["a", "a\n", "a\n\n", "ba", "a\nb"]),
        (r"a\Z", ["a", "a\n"]),
        (r"^$", ["", "\n", "a"]),
        (r"x{3}|y{2,}z", ["xxx", "xx", "yyz", "yz", "yyyyyz"]),
        (r"a{}|b{,}c", ["a{}", "c", "bbbc", "a"]),
        (r"\x41\u00e9[\]x]", ["Aé]", "Aéx", "Ae]"]),
        (r"(a|ab)(c|bcd)(d*)", ["abcd", "acd", "abd"]),
        (r"[^\n]+\.py", ["tests/x.py", "\n.py"]),
        (r"(?P<name>m+)o?", ["mmo", "o"]),
    ],
)
def test_chosen_patterns_answer_as_re_does(pattern: str, texts: list[str]) -> None:
    safe = compile_safe(pattern)
    for text in texts:
        assert safe.search(text) == bool(re.search(pattern, text)), text
        assert safe.match(text) == bool(re.match(pattern, text)), text


def _finishes(action: object, seconds: float = 30.0) -> object:
    """The action's answer, or a failure where it does not come back at all (a
    backtracking engine takes hours on these; no timing is asserted)."""
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(action()), daemon=True)  # type: ignore[operator]
    worker.start()
    worker.join(seconds)
    assert out, "the match did not come back"
    return out[0]


@pytest.mark.parametrize(
    ("pattern", "text", "searched", "matched"),
    [
        ("(a+)+$", "a" * 3000 + "!", False, False),
        ("(a|a)*$", "a" * 3000 + "!", True, False),  # found empty, at the end
        (r"(\w+\s?)*$", "word " * 600 + "!", True, False),
        (r"(.*a){20}", "a" * 19 + "b" * 3000, False, False),
        (r"^(([a-z])+.)+[A-Z]([a-z])+$", "a" * 3000 + "!", False, False),
        ("(x+x+)+y", "x" * 3000 + "y", True, True),
        ("(x+x+)+y", "x" * 3000, False, False),
    ],
)
def test_catastrophic_patterns_run_in_linear_time(
    pattern: str, text: str, searched: bool, matched: bool
) -> None:
    safe = compile_safe(pattern)
    assert _finishes(lambda: safe.search(text)) is searched
    assert _finishes(lambda: safe.match(text)) is matched


def test_many_sets_of_states_start_the_cache_afresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # (a|b)*a(a|b){12}: a DFA of 2**13 states, far past a bound of 64
    monkeypatch.setattr(saferegex, "MAX_DFA_STATES", 64)
    safe = SafePattern("(a|b)*a(a|b){12}$")
    rng = random.Random(7)
    texts = ["".join(rng.choice("ab") for _ in range(300)) for _ in range(8)]
    for text in texts:
        assert safe.search(text) == bool(re.search(safe.pattern, text))
        assert len(safe._sets) <= 64
    monkeypatch.setattr(saferegex, "MAX_DFA_STATES", 100_000)
    unbounded = SafePattern(safe.pattern)
    for text in texts:
        unbounded.search(text)
    assert len(unbounded._sets) > 64  # so the bounded one did start afresh


@pytest.mark.parametrize(
    ("pattern", "says"),
    [
        (r"(a)\1", "backreferences"),
        (r"(?=a)b", "lookaheads are refused (column 1)"),
        (r"(?<!a)b", "lookbehinds"),
        (r"\bmodel\b", r"word boundaries (\b) are refused (column 1)"),
        (r"(?i)model", "inline flags"),
        # Python 3.10's re has neither: it refuses them first
        (r"(?>a+)b", "atomic groups" if PY311 else "not a regular expression"),
        (r"a*+", "quantifier after a quantifier" if PY311 else "multiple repeat"),
        (r"a{2}{3}", "not a regular expression"),  # re refuses it first
        ("a{101}", f"a counted repetition over {MAX_COUNT} is refused (column 2)"),
        ("(a", "not a regular expression"),
        ("x" * 1001, "more than 1000"),
        ("(a{100}){100}{100}", "not a regular expression"),
        ("((a{100}){100}){3}", "automaton states"),
        (r"\p", "not a regular expression"),
    ],
)
def test_what_needs_backtracking_is_refused_with_where(pattern: str, says: str) -> None:
    why = check(pattern)
    assert why is not None and says in why
    with pytest.raises(PatternError):
        compile_safe(pattern)


def test_the_defaults_are_in_the_language() -> None:
    assert check(DEFAULT_PARAMS) is None
    assert check(DEFAULT_MODEL) is None


def test_the_model_rule_runs_its_own_defaults_by_re_and_data_by_saferegex(
    tmp_path,
) -> None:
    """ModelFinder compiles the workspace's default patterns (its own, not data)
    with `re`, any other with saferegex: on the defaults both answer alike."""
    from testmatrix.core.model import Workspace
    from testmatrix.core.models import ModelFinder

    assert (Workspace.model_pattern, Workspace.model_params) == (
        DEFAULT_MODEL,
        DEFAULT_PARAMS,
    )

    def finder(**patterns: str) -> ModelFinder:
        return ModelFinder(Workspace(tmp_path, tmp_path, {}, {}, {}, **patterns))

    default = finder()
    assert isinstance(default.model_re, re.Pattern)
    assert isinstance(default.params_re, re.Pattern)
    data = finder(model_pattern=DEFAULT_MODEL + "|^x$", model_params="(a+)+$")
    assert isinstance(data.model_re, SafePattern)
    assert isinstance(data.params_re, SafePattern)
    rnd = random.Random(7)
    chars = TEXT_CHARS + "ABz9éß日\t" + "model_infoserverllm"
    texts = ["org/name", "org/name\n", "é/ß", "x.model", "a_model\n", "model_info.name"]
    texts += ["".join(rnd.choices(chars, k=rnd.randint(0, 16))) for _ in range(3000)]
    for pattern, run in ((DEFAULT_MODEL, "match"), (DEFAULT_PARAMS, "search")):
        safe = getattr(compile_safe(pattern), run)
        plain = getattr(re.compile(pattern), run)
        assert [bool(safe(t)) for t in texts] == [bool(plain(t)) for t in texts]
