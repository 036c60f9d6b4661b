"""Streaks for the build's matrix: beside each red cell, since when its tests fail."""

from __future__ import annotations

from .queries import RED_NAMES, status
from .store import Store


def red_streaks(store: Store) -> dict[tuple[str, str], str]:
    """{(target, suite): 'failing since #123 (2026-03-01), 5 builds; 3 tests red'}
    from each target's current streaks: the oldest red streak of the suite's tests
    names the build it started in."""
    oldest: dict[tuple[str, str], tuple[int, str, str]] = {}
    red: dict[tuple[str, str], int] = {}
    for row in status(store):
        if row.outcome not in RED_NAMES:
            continue
        key = (row.target, row.suite)
        red[key] = red.get(key, 0) + 1
        if key not in oldest or row.streak > oldest[key][0]:
            oldest[key] = (row.streak, row.since_build, row.since_date[:10])
    return {
        key: f"failing since #{build} ({date}), {streak} builds; {red[key]} tests red"
        for key, (streak, build, date) in oldest.items()
    }
