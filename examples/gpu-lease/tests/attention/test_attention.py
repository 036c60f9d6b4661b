import math
import os

from gpuwork import busy, device_facts

SECONDS = float(os.environ.get("GPU_WORK_SECONDS", "0.2"))


def test_attention_on_the_leased_gpu(record_property):
    facts = device_facts()
    for key, value in facts.items():
        record_property(key, value)
    assert math.isfinite(busy(SECONDS, "attention"))
    if "uuid" in facts:
        assert facts["count"] == 1
