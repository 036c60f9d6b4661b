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


@pytest.mark.parametrize("seed", range(2))
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


def test_messages_naming_a_varying_thing_unquoted_are_one_cause() -> None:
    from testmatrix.propose.signature import merge_similar

    lead = "NotImplementedError: Encoder self-attention is not implemented for "
    triton = signature_of("", lead + "TritonAttentionImpl")
    rocm = signature_of("", lead + "RocmAttentionImpl")
    other = signature_of("", "NotImplementedError: Encoder cache is off")
    cause = merge_similar([triton, rocm, other])
    assert cause[triton] == cause[rocm] != cause[other]
    assert cause[other] == other
    merged = cause[triton]
    assert merged.pattern == "Encoder self-attention is not implemented for"
    for text in (lead + "TritonAttentionImpl", lead + "RocmAttentionImpl"):
        assert errorpattern.search(
            merged.pattern, message_of("NotImplementedError", text)
        )


def test_short_shared_starts_stay_apart() -> None:
    from testmatrix.propose.signature import merge_similar

    oom = signature_of("", "RuntimeError: CUDA error: out of memory")
    bad = signature_of("", "RuntimeError: CUDA error: illegal memory access")
    cause = merge_similar([oom, bad])
    assert cause[oom] == oom and cause[bad] == bad
