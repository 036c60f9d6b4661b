"""Busy work on whatever device this process was given, and what that device is."""

import os
import time


def device_facts() -> dict:
    """The visible-devices variable and, where torch sees a GPU, the GPU torch reports."""
    facts = {"CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "")}
    try:
        import torch
    except ImportError:
        return {**facts, "device": "cpu (no torch)"}
    if not torch.cuda.is_available():
        return {**facts, "device": "cpu"}
    count = torch.cuda.device_count()
    props = [torch.cuda.get_device_properties(i) for i in range(count)]
    return {
        **facts,
        "device": ", ".join(f"cuda:{i} {p.name}" for i, p in enumerate(props)),
        "uuid": ", ".join(str(getattr(p, "uuid", "")) for p in props),
        "count": count,
    }


def busy(seconds: float, kind: str) -> float:
    """Run `kind` work for about `seconds` on the first visible GPU (or the CPU); returns a checksum."""
    try:
        import torch
    except ImportError:
        torch = None
    deadline = time.monotonic() + seconds
    if torch is None:
        total = 0.0
        while True:
            total += sum(i * i for i in range(1000)) % 7
            if time.monotonic() >= deadline:
                return total
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    # every visible device works (a tensor-parallel suite has two)
    devices = [f"cuda:{i}" for i in range(gpus)] or ["cpu"]
    mats = [torch.randn(2048, 2048, device=d) for d in devices]
    total = 0.0
    while True:
        for a in mats:
            if kind == "attention":
                out = torch.softmax(a @ a.T / 45.0, dim=-1) @ a
            else:
                out = a @ a
            total += float(out[0, 0])
        if time.monotonic() >= deadline:
            if gpus:
                torch.cuda.synchronize()
            return total


def check_on_leased_gpu(record_property, kind: str) -> None:
    """Record the devices this session got, work on them, and check that torch sees
    exactly the GPUs the lease exposed (one, or two for the tensor-parallel suite)."""
    import math

    facts = device_facts()
    for key, value in facts.items():
        record_property(key, value)
    assert math.isfinite(busy(float(os.environ.get("GPU_WORK_SECONDS", "0.2")), kind))
    if "uuid" in facts:
        leased = [d for d in facts["CUDA_VISIBLE_DEVICES"].split(",") if d]
        assert facts["count"] == len(leased) == int(os.environ.get("EXPECT_GPUS", "1"))
