"""Error signatures and the `fails.match` patterns proposed from them."""

from __future__ import annotations

import random

import pytest

from testmatrix.core import errorpattern
from testmatrix.propose.signature import MAX_MATCH, message_of, signature_of


def test_failures_of_one_cause_share_a_signature_whatever_varies() -> None:
    one = signature_of("", "RuntimeError: HIP out of memory at 0x7f12 (3 GiB)")
    two = signature_of("", "RuntimeError: HIP out of memory at 0xdead (12 GiB)")
    assert one == two
    assert one.error == "RuntimeError"
    assert one.template == "HIP out of memory at <addr> (<n> GiB)"
    assert signature_of("", "RuntimeError: HIP ran out") != one


def test_the_pattern_matches_every_message_it_came_from() -> None:
    messages = [
        "KeyError: 'weight_x' not in state dict of layer 3",
        "KeyError: 'bias' not in state dict of layer 12",
    ]
    sig = signature_of("", messages[0])
    assert sig == signature_of("", messages[1])
    for text in messages:
        assert errorpattern.search(sig.pattern, message_of("KeyError", text))


def test_an_error_in_a_fixture_is_the_error_inside_pytests_words() -> None:
    sig = signature_of(
        "", 'failed on setup with "NotImplementedError: Encoder attention for X"'
    )
    assert (sig.error, sig.template) == (
        "NotImplementedError",
        "Encoder attention for X",
    )


def test_only_the_type_when_the_message_is_all_variable() -> None:
    sig = signature_of("KeyError", "KeyError: 'weight'")
    assert (sig.error, sig.pattern) == ("KeyError", "")


@pytest.mark.parametrize("seed", range(5))
def test_hostile_messages_give_patterns_the_loader_accepts(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab (){}[]|*+?.^$\\'\"\n\t0123456789x:é"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        sig = signature_of("ValueError", f"ValueError: {text}")
        assert errorpattern.check(sig.pattern) is None, (text, sig.pattern)
        assert len(sig.pattern) <= MAX_MATCH
        assert errorpattern.search(
            sig.pattern, message_of("ValueError", f"ValueError: {text}")
        )
