"""The cyclic garbage collector paused while a build is read and written."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection meanwhile: a build is tens of thousands of acyclic
    tuples, which the collector would walk again each time their number grows by a
    quarter (a third of an ingest's time) and never free. Counting references still
    frees what dies."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
