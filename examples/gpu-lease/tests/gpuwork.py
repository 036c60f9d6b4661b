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
    props = torch.cuda.get_device_properties(0)
    return {**facts, "device": f"cuda:0 {props.name}", "uuid": str(getattr(props, "uuid", "")), "count": torch.cuda.device_count()}


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
    device = "cuda" if torch.cuda.is_available() else "cpu"
    a = torch.randn(2048, 2048, device=device)
    total = 0.0
    while True:
        if kind == "matmul":
            out = a @ a
        else:
            out = torch.softmax(a @ a.T / 45.0, dim=-1) @ a
        total += float(out[0, 0])
        if time.monotonic() >= deadline:
            if device == "cuda":
                torch.cuda.synchronize()
            return total


def check_on_leased_gpu(record_property, kind: str) -> None:
    """Record the device this session got, work on it, and check the lease exposed exactly one GPU."""
    import math

    facts = device_facts()
    for key, value in facts.items():
        record_property(key, value)
    assert math.isfinite(busy(float(os.environ.get("GPU_WORK_SECONDS", "0.2")), kind))
    if "uuid" in facts:
        assert facts["count"] == 1
