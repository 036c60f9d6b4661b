"""Split selected tests over parallel jobs, by recorded durations or else by count."""

from __future__ import annotations

import heapq
from pathlib import Path

from testmatrix.core import options as opt
from testmatrix.errors import TestmatrixError
from testmatrix.jsonio import read_json


def check(shard_id: int, num_shards: int) -> None:
    if num_shards < 1:
        raise TestmatrixError(f"{opt.NUM_SHARDS.flag(num_shards)} must be at least 1")
    if not 0 <= shard_id < num_shards:
        raise TestmatrixError(
            f"{opt.SHARD_ID.flag(shard_id)} is out of range for "
            f"{opt.NUM_SHARDS.flag(num_shards)} "
            f"(0..{num_shards - 1})"
        )


def assign(
    nodeids: list[str], num_shards: int, durations: dict[str, float] | None = None
) -> list[int]:
    """The shard of each test: every test in exactly one shard."""
    if num_shards == 1 or not nodeids:
        return [0] * len(nodeids)
    if not durations:
        # contiguous, near-equal chunks keep a module's tests (and fixtures) together
        size, extra = divmod(len(nodeids), num_shards)
        out: list[int] = []
        for shard in range(num_shards):
            out += [shard] * (size + (1 if shard < extra else 0))
        return out
    known = [durations[n] for n in nodeids if n in durations]
    default = sum(known) / len(known) if known else 1.0
    cost = [durations.get(n, default) for n in nodeids]
    # longest processing time first: each test goes to the least-loaded shard
    heap = [(0.0, shard) for shard in range(num_shards)]
    out = [0] * len(nodeids)
    for index in sorted(range(len(nodeids)), key=lambda i: (-cost[i], nodeids[i])):
        load, shard = heapq.heappop(heap)
        out[index] = shard
        heapq.heappush(heap, (load + cost[index], shard))
    return out


def load_durations(path: Path) -> dict[str, float]:
    """A durations file: JSON {nodeid: seconds}, or a summary.json's 'durations'."""
    data = read_json(path, "durations file")
    if (
        isinstance(data, dict)
        and isinstance(data.get("durations"), dict)
        and "counts" in data
    ):
        data = data["durations"]
    if not isinstance(data, dict) or not all(
        isinstance(v, (int, float)) for v in data.values()
    ):
        raise TestmatrixError(f"{path}:1: durations file must map test ids to seconds")
    return {str(k): float(v) for k, v in data.items()}
