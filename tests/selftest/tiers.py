"""The fast tier's measured boundary: tests/selftest/tiers.txt lists the test
functions whose cases took too long for the fast tier on the CI machine class (2
cores), and conftest.py marks them `slow` at collection.

    pytest tests/selftest -m "not slow" -n 0 --durations=0 -vv > d.txt
    python tests/selftest/tiers.py d.txt     # adds what crossed the line

A function moves when one of its cases took SLOWEST seconds or all of them TOTAL
(setup, call and teardown counted). Nothing is removed here: an entry leaves by
hand, and test_tiers checks that every entry still names a test function.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

LIST = Path(__file__).with_name("tiers.txt")
SLOWEST = 0.1  # seconds of one case
TOTAL = 0.25  # seconds of all of a function's cases
_ROW = re.compile(r"^([\d.]+)s (?:setup|call|teardown)\s+(\S+)")


def listed(text: str) -> list[str]:
    """The function ids a tiers list names (comments and blank lines aside)."""
    ids = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [i for i in ids if i]


def over_the_line(report: str) -> set[str]:
    """The function ids of a --durations=0 report that cross SLOWEST or TOTAL."""
    cases: dict[str, float] = defaultdict(float)
    for line in report.splitlines():
        row = _ROW.match(line)
        if row:
            cases[row[2]] += float(row[1])
    functions: dict[str, list[float]] = defaultdict(list)
    for nodeid, seconds in cases.items():
        functions[nodeid.split("[", 1)[0]].append(seconds)
    return {f for f, s in functions.items() if max(s) >= SLOWEST or sum(s) >= TOTAL}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    text = LIST.read_text(encoding="utf-8")
    added = sorted(over_the_line(Path(argv[0]).read_text(encoding="utf-8")))
    added = [f for f in added if f not in set(listed(text))]
    if added:
        LIST.write_text(text + "".join(f"{f}\n" for f in added), encoding="utf-8")
    print(f"{len(added)} functions added to {LIST.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
