"""The dashboard: `testmatrix report --html DIR` writes a static site of one or more
builds (matrix, changes, trend, models, entries and a test viewer).

`data` is what the site shows, whatever the source; `summaries` and `fromhistory`
build it from session summaries or from a history store; `site` writes it. The
names below load on first use, so `testmatrix --help` imports none of it.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Build": "data",
    "Cell": "data",
    "Change": "data",
    "DashboardData": "data",
    "Entry": "data",
    "Result": "data",
    "TrendPoint": "data",
    "HistorySource": "fromhistory",
    "from_history": "fromhistory",
    "from_summaries": "summaries",
    "write_site": "site",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__() -> list[str]:
    return __all__
