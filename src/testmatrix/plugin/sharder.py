"""testmatrix's sharder: one shard of what every other plugin selected, by recorded
durations or else by count."""

from __future__ import annotations

import pytest

from testmatrix.plugin import shard
from testmatrix.plugin.keys import HooksOnly
from testmatrix.plugin.state import State

SHARDER = "testmatrix-shard"


class Sharder(HooksOnly):
    """Keeps one shard of what every other plugin selected and the skiplist kept:
    the plugin's collection hook calls it last, on the decided list."""

    def __init__(self, state: State):
        self.state = state
        assert state.shard is not None  # registered only for a sharded run
        self.shard: tuple[int, int] = state.shard

    def split(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        shard_id, num = self.shard
        owner = shard.assign([i.nodeid for i in items], num, self.state.durations)
        keep = [item for item, s in zip(items, owner, strict=True) if s == shard_id]
        other = [item for item, s in zip(items, owner, strict=True) if s != shard_id]
        self.state.other_shards = len(other)
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = keep

    def pytest_report_header(self, config: pytest.Config) -> str:
        shard_id, num = self.shard
        how = "recorded durations" if self.state.durations else "test count"
        return f"testmatrix: shard {shard_id} of {num} (0-based), balanced by {how}"
