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
from types import ModuleType

from testmatrix.core.facts import Detection

# (hardware, device count) or (hardware, device count, device models)
Found = tuple[str, int] | tuple[str, int, tuple[str, ...]]
Probe = Callable[[], "Found | None"]


def gfx_name(version: int) -> str:
    """The gfx target of a KFD `gfx_target_version` (90402 -> gfx942, 90010 ->
    gfx90a): major, then minor and stepping as hex digits."""
    major, minor, stepping = version // 10000, version // 100 % 100, version % 100
    return f"gfx{major}{minor:x}{stepping:x}"


def _distinct(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _require(name: str) -> ModuleType:
    """Import an optional module; a missing one fails its probe with a short note."""
    if importlib.util.find_spec(name) is None:
        raise ModuleNotFoundError(f"{name} not installed")
    return importlib.import_module(name)


def _amdsmi() -> Found | None:
    amdsmi = _require("amdsmi")
    amdsmi.amdsmi_init()
    try:
        handles = amdsmi.amdsmi_get_processor_handles()
        models = []
        for handle in handles:
            try:
                info = amdsmi.amdsmi_get_gpu_asic_info(handle)
                models.append(str(info.get("target_graphics_version", "")))
            except Exception:  # older amdsmi: the count still stands
                pass
    finally:
        amdsmi.amdsmi_shut_down()
    return ("rocm", len(handles), _distinct(models)) if handles else None


def _pynvml() -> Found | None:
    pynvml = _require("pynvml")
    pynvml.nvmlInit()
    try:
        count = pynvml.nvmlDeviceGetCount()
        names = []
        for index in range(count):
            name = pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(index))
            names.append(name.decode() if isinstance(name, bytes) else str(name))
    finally:
        pynvml.nvmlShutdown()
    return ("cuda", count, _distinct(names)) if count else None


def _drivers() -> Found | None:
    nvidia = glob.glob("/proc/driver/nvidia/gpus/*")
    if nvidia:
        names = [
            line.split(":", 1)[1].strip()
            for gpu in nvidia
            for line in _read(os.path.join(gpu, "information")).splitlines()
            if line.startswith("Model:")
        ]
        return "cuda", len(nvidia), _distinct(names)
    if os.path.exists("/dev/kfd"):
        gfx = []
        count = 0
        for node in glob.glob("/sys/class/kfd/kfd/topology/nodes/*"):
            if _read(os.path.join(node, "gpu_id")) in ("", "0"):
                continue  # a CPU node
            count += 1
            for line in _read(os.path.join(node, "properties")).splitlines():
                key, _, value = line.partition(" ")
                if key == "gfx_target_version" and value.strip().isdigit():
                    gfx.append(gfx_name(int(value)))
        return "rocm", count or 1, _distinct(gfx)
    raise LookupError("no /proc/driver/nvidia/gpus or /dev/kfd")


def _torch() -> Found | None:
    torch = _require("torch")
    if not torch.cuda.is_available():
        return None
    count = torch.cuda.device_count()
    props = [torch.cuda.get_device_properties(i) for i in range(count)]
    if getattr(torch.version, "hip", None):
        # gcnArchName is "gfx942:sramecc+:xnack-": the target is before the colon
        gfx = [str(getattr(p, "gcnArchName", "")).split(":")[0] for p in props]
        return "rocm", count, _distinct(gfx)
    if getattr(torch.version, "cuda", None):
        return "cuda", count, _distinct([str(p.name) for p in props])
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
            hardware, count, *models = found
            return Detection(hardware, count, name, tuple(notes), *models)
        notes.append(f"{name}: no devices")
    return Detection("none", 0, "none", tuple(notes))
