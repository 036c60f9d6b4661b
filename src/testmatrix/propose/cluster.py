"""Failures grouped into entries: one per platform and error signature, naming whole
files or parametrized functions where all their tests fail alike, never one test id
per parameter."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .evidence import Failing, Flake
from .signature import Signature, merge_similar


@dataclass(frozen=True)
class Group:
    """One proposed entry: what it names, on which targets, and why."""

    platform: str
    variants: tuple[str, ...]  # empty: the whole platform
    items: tuple[str, ...]  # deselect prefixes: files, `file::func[`, test ids
    signature: Signature | None  # None: a flaky entry
    builds: tuple[str, ...]  # the builds that show it
    tests: int  # how many test ids it covers


def split_target(target: str) -> tuple[str, str | None]:
    platform, _, variant = target.partition(":")
    return platform, variant or None


def file_of(test: str) -> str:
    return test.split("::", 1)[0]


def function_of(test: str) -> str | None:
    """`file::func[` for a parametrized test (the prefix of all its parameters)."""
    if not test.endswith("]") or "[" not in test:
        return None
    return test[: test.index("[") + 1]


def covering(tests: Collection[str], known: Collection[str]) -> list[str]:
    """The fewest prefixes naming exactly `tests` among the `known` tests of a
    target: a file when all of its tests are here, a parametrized function when
    all its parameters are, else the test ids."""
    wanted = set(tests)
    by_file: dict[str, set[str]] = {}
    by_function: dict[str, set[str]] = {}
    for test in set(known) | wanted:
        by_file.setdefault(file_of(test), set()).add(test)
        function = function_of(test)
        if function:
            by_function.setdefault(function, set()).add(test)
    out: list[str] = []
    left = set(wanted)
    for path, members in sorted(by_file.items()):
        if members <= wanted and len(members) > 1:
            out.append(path)
            left -= members
    for function, members in sorted(by_function.items()):
        if members <= left and len(members) > 1:
            out.append(function)
            left -= members
    return sorted(out + sorted(left))


def failure_groups(
    failing: Iterable[Failing], known: dict[str, set[str]]
) -> list[Group]:
    """One group per platform, signature and set of prefixes; targets of one
    platform with the same group merge into its variants."""
    failing = list(failing)
    by_target: dict[str, set[Signature]] = {}
    for fail in failing:
        by_target.setdefault(fail.target, set()).add(fail.signature)
    cause = {t: merge_similar(sigs) for t, sigs in by_target.items()}
    by_key: dict[tuple[str, Signature], list[Failing]] = {}
    for fail in failing:
        by_cause = (fail.target, cause[fail.target][fail.signature])
        by_key.setdefault(by_cause, []).append(fail)
    merged: dict[tuple[str, Signature, tuple[str, ...]], list[str | None]] = {}
    proof: dict[tuple[str, Signature, tuple[str, ...]], tuple[set[str], int]] = {}
    for (target, signature), fails in by_key.items():
        tests = {f.test for f in fails}
        items = tuple(covering(tests, known.get(target, ())))
        platform, variant = split_target(target)
        key = (platform, signature, items)
        merged.setdefault(key, []).append(variant)
        builds, _ = proof.setdefault(key, (set(), len(tests)))
        for fail in fails:
            builds.update(fail.builds)
    out = []
    for (platform, signature, items), variants in merged.items():
        builds, count = proof[(platform, signature, items)]
        held = () if None in variants else tuple(sorted(v for v in variants if v))
        out.append(
            Group(
                platform,
                held,
                items,
                signature,
                tuple(sorted(builds, key=_natural)),
                count,
            )
        )
    out.sort(key=lambda g: (g.platform, g.items, g.variants))
    return out


def flaky_groups(flakes: Iterable[Flake], known: dict[str, set[str]]) -> list[Group]:
    """Flaky tests as entries: per platform, the tests flaky on the same variants
    make one entry, named by files and parametrizations where all their tests are
    flaky there."""
    held: dict[tuple[str, str], tuple[list[str | None], set[str]]] = {}
    for flake in flakes:
        platform, variant = split_target(flake.target)
        variants, builds = held.setdefault((platform, flake.test), ([], set()))
        variants.append(variant)
        builds.update(flake.builds)
    merged: dict[tuple[str, tuple[str, ...]], tuple[set[str], set[str]]] = {}
    for (platform, test), (variants, builds) in held.items():
        on = () if None in variants else tuple(sorted(v for v in variants if v))
        tests, shown = merged.setdefault((platform, on), (set(), set()))
        tests.add(test)
        shown.update(builds)
    out = []
    for (platform, on), (tests, builds) in sorted(merged.items()):
        targets = [platform] if not on else [f"{platform}:{v}" for v in on]
        seen = set().union(*(known.get(t, set()) for t in targets))
        items = tuple(covering(tests, seen))
        proof = tuple(sorted(builds, key=_natural))
        out.append(Group(platform, on, items, None, proof, len(tests)))
    return out


def _natural(name: str) -> tuple[int, str]:
    """Build names in number order where they are numbers (9 before 10)."""
    return (len(name), name) if name.isdigit() else (1 << 30, name)
