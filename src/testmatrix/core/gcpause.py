"""The cyclic garbage collector paused while a burst of objects that hold no cycle
is made (a cached workspace's records, a collection's decisions): each burst's
thousands of allocations would otherwise start collections again and again over
everything the process holds, pytest's collected tests included."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pauses the collector, and restores it as it was (a caller's pause stays)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
