"""Which accelerator this machine has, without importing torch unless nothing else answers.

Like vLLM's platform probe: amdsmi and pynvml device counts first, then the kernel
drivers' files, and torch's build flags last (importing torch costs seconds).
"""

from __future__ import annotations

import glob
import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Detection:
    """The hardware found: 'rocm', 'cuda' or 'none', how many devices, and how we know."""

    hardware: str
    devices: int
    method: str
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.hardware == "none":
            return f"none ({'; '.join(self.notes) or 'no probe found a GPU'})"
        return f"{self.hardware} ({self.devices} device{'s' if self.devices != 1 else ''}, via {self.method})"


Probe = Callable[[], "tuple[str, int] | None"]


def _amdsmi() -> tuple[str, int] | None:
    if importlib.util.find_spec("amdsmi") is None:
        raise ModuleNotFoundError("amdsmi not installed")
    amdsmi = importlib.import_module("amdsmi")
    amdsmi.amdsmi_init()
    try:
        count = len(amdsmi.amdsmi_get_processor_handles())
    finally:
        amdsmi.amdsmi_shut_down()
    return ("rocm", count) if count else None


def _pynvml() -> tuple[str, int] | None:
    if importlib.util.find_spec("pynvml") is None:
        raise ModuleNotFoundError("pynvml not installed")
    pynvml = importlib.import_module("pynvml")
    pynvml.nvmlInit()
    try:
        count = pynvml.nvmlDeviceGetCount()
    finally:
        pynvml.nvmlShutdown()
    return ("cuda", count) if count else None


def _drivers() -> tuple[str, int] | None:
    nvidia = glob.glob("/proc/driver/nvidia/gpus/*")
    if nvidia:
        return "cuda", len(nvidia)
    if os.path.exists("/dev/kfd"):
        nodes = [
            p
            for p in glob.glob("/sys/class/kfd/kfd/topology/nodes/*/gpu_id")
            if _read(p) not in ("", "0")
        ]
        return "rocm", len(nodes) or 1
    raise LookupError("no /proc/driver/nvidia/gpus or /dev/kfd")


def _torch() -> tuple[str, int] | None:
    if importlib.util.find_spec("torch") is None:
        raise ModuleNotFoundError("torch not installed")
    torch = importlib.import_module("torch")
    if not torch.cuda.is_available():
        return None
    count = torch.cuda.device_count()
    if getattr(torch.version, "hip", None):
        return "rocm", count
    if getattr(torch.version, "cuda", None):
        return "cuda", count
    return None


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return ""


PROBES: tuple[tuple[str, Probe], ...] = (
    ("amdsmi", _amdsmi),
    ("pynvml", _pynvml),
    ("driver files", _drivers),
    ("torch", _torch),
)


def detect(probes: tuple[tuple[str, Probe], ...] = PROBES) -> Detection:
    """Run the probes in order; the first that finds devices decides."""
    notes = []
    for name, probe in probes:
        try:
            found = probe()
        except Exception as exc:  # a probe that cannot run tells us nothing
            notes.append(f"{name}: {exc}")
            continue
        if found:
            hardware, count = found
            return Detection(hardware, count, name, tuple(notes))
        notes.append(f"{name}: no devices")
    return Detection("none", 0, "none", tuple(notes))
