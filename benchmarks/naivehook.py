"""pytest plugin of the benchmark (`-p naivehook`): the decision hook vLLM PR 28156
put in tests/conftest.py, figure 1's baseline.

On ROCm, every item marked `encoder_decoder` whose node id contains the name of a
listed model gets a skip mark. Substring matching on node ids is not exact: an item
whose id carries no model name (a model-info record's `model_info0`, a server
fixture's short ids, an attention backend's `[default]`) is never skipped, and a
name that is part of another's skips both. Its models are every model the rocm
skiplist's skip entries name (model lists expanded), by marker, from the JSON file
named by $TESTMATRIX_BENCH_NAIVE ({"encoder_decoder": ["org/name", ...]}); without
it the hook does nothing, as the PR's did off ROCm.
"""

from __future__ import annotations

import json
import os

import pytest

NAIVE_ENV = "TESTMATRIX_BENCH_NAIVE"
_RULES: list[tuple[str, tuple[str, ...]]] = []  # (marker, models)


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(NAIVE_ENV)
    if path:
        with open(path) as handle:
            _RULES[:] = [(k, tuple(v)) for k, v in json.load(handle).items()]


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not _RULES:  # not ROCm
        return
    for marker, models in _RULES:
        skip = pytest.mark.skip(
            reason=f"{marker} models are not supported on ROCm (vLLM #27442)"
        )
        for item in items:
            if marker in item.keywords and any(m in item.nodeid for m in models):
                item.add_marker(skip)
