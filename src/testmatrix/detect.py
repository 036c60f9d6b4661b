"""Which accelerator this machine has; torch is imported only if nothing else answers.

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
from types import ModuleType


@dataclass(frozen=True)
class Detection:
    """The hardware found ('rocm', 'cuda' or 'none'), how many devices, how we know."""

    hardware: str
    devices: int
    method: str
    notes: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.hardware == "none":
            return f"none ({'; '.join(self.notes) or 'no probe found a GPU'})"
        plural = "s" if self.devices != 1 else ""
        return f"{self.hardware} ({self.devices} device{plural}, via {self.method})"


Probe = Callable[[], "tuple[str, int] | None"]


def _require(name: str) -> ModuleType:
    """Import an optional module; a missing one fails its probe with a short note."""
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(f"{name} not installed")
    return importlib.import_module(name)


def _amdsmi() -> tuple[str, int] | None:
    amdsmi = _require("amdsmi")
    amdsmi.amdsmi_init()
    try:
        count = len(amdsmi.amdsmi_get_processor_handles())
    finally:
        amdsmi.amdsmi_shut_down()
    return ("rocm", count) if count else None


def _pynvml() -> tuple[str, int] | None:
    pynvml = _require("pynvml")
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
    torch = _require("torch")
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
    notes: list[str] = []
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
