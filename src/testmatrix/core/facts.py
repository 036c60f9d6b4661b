"""Facts about the machine and the running testmatrix that planning decides from.

The probes that find them (`testmatrix.system`) sit above the core; the core only
reads these records, so it can be tested without a GPU or an installed package.
"""

from __future__ import annotations

from dataclasses import field
from pathlib import Path

from testmatrix.core.record import record


@record
class Detection:
    """The hardware found ('rocm', 'cuda' or 'none'), how many devices, how we know."""

    hardware: str
    devices: int
    method: str
    notes: tuple[str, ...] = field(default=())
    # what the devices are, where the probe can tell: AMD gfx targets (gfx942) or
    # NVIDIA device names; variants are matched against these
    models: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        if self.hardware == "none":
            return f"none ({'; '.join(self.notes) or 'no probe found a GPU'})"
        plural = "s" if self.devices != 1 else ""
        what = f", {', '.join(self.models)}" if self.models else ""
        return (
            f"{self.hardware} ({self.devices} device{plural}{what}, via {self.method})"
        )


DISTRIBUTION = "pytest-testmatrix"


@record
class Origin:
    """The running testmatrix: its version, the source tree it is imported from (a
    checkout, installed editable or put on sys.path), or the local file or directory
    pip installed it from (PEP 610's direct_url.json), where each still exists."""

    version: str
    source: Path | None = None
    url: str | None = None
