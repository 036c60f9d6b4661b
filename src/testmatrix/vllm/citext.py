"""What vLLM's CI YAML says in text beside its keys: step and pool names, the
header's default working directory, banners and NOTES comments."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from testmatrix.ci.yamlsrc import (
    Source,
)

if TYPE_CHECKING:
    pass
from testmatrix.vllm.jobs import Job


def with_note(job: Job, note: str) -> Job:
    return replace(job, notes=(*job.notes, note))


def env_text(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def step_name(text: str) -> str:
    """A device or pool name as a variant name (lower-case letters, digits, - and _)."""
    name = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    return name or "default"


def pool(pool: str | None) -> tuple[str | None, int | None, str | None]:
    """(variant, GPUs, agent pool template) of an AMD pool: 'mi300_2' gives mi300, 2
    and 'mi300_{gpus}'; a pool without a trailing count is a variant of its own."""
    if pool is None:
        return None, None, None
    found = re.fullmatch(r"(.+?)([_-])(\d+)", pool)
    if found is None:
        return step_name(pool), None, pool
    name, sep, count = found.groups()
    return step_name(name), int(count), f"{name}{sep}{{gpus}}"


AMD_DEVICE = re.compile(r"(?i)^(mi\d{3}x?|amd|rocm|gfx\d+)([_-]|$)")


def runs_on_amd(device: str | None, depends_on: object) -> bool:
    """Whether a test_areas step runs on AMD agents itself: its device is an AMD
    pool (mi355_1), or it waits for the AMD image (depends_on: image-build-amd)."""
    if device and AMD_DEVICE.match(device):
        return True
    waits = depends_on if isinstance(depends_on, list) else [depends_on]
    return any(str(d) == "image-build-amd" for d in waits if d)


def label_key(label: str) -> str:
    return re.sub(r"\s+", " ", label).strip().lower()


def command_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def header_default(source: Source) -> str | None:
    """The default working_dir a pipeline's header documents, if any."""
    for line in source.lines:
        if not line.lstrip().startswith("#"):
            if line.strip():
                break
            continue
        found = re.search(r"working_dir\b.*default(?:s)?\s+to\s+(/\S+)", line)
        if found:
            return found.group(1).rstrip(".,")
    return None


def banners(source: Source) -> dict[str, tuple[str, ...]]:
    """'MI300 (gfx942) tests' banners: the gfx target of each hardware name."""
    found: dict[str, tuple[str, ...]] = {}
    for line in source.lines:
        if line.lstrip().startswith("#"):
            for name, gfx in re.findall(r"\b(MI\d+\w*)\s*\((gfx[0-9a-f]+)\)", line):
                found.setdefault(step_name(name), (gfx,))
    return found


def notes(source: Source) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The header's NOTES block: '* [Label]: text' per step (several labels joined by
    ' / ') and '- {`command`}: text' per command of that step."""
    step_notes: dict[str, str] = {}
    command_notes: dict[str, dict[str, str]] = {}
    labels: list[str] = []
    command: str | None = None
    inside = False
    for raw in source.lines:
        stripped = raw.strip()
        if not stripped.startswith("#"):
            if inside and stripped:
                break
            continue
        text = stripped.strip("#").strip()
        if not inside:
            inside = text.startswith("NOTES:")
            continue
        if not text:
            if re.fullmatch(r"#{5,}", stripped):  # the box's bottom border
                break
            continue
        item = re.match(r"^\*\s*\[(.+?)\]\s*:\s*(.*)$", text)
        sub = re.match(r"^-\s*\{`(.+?)`\}\s*:\s*(.*)$", text)
        if item:
            labels = [label_key(n) for n in item.group(1).split(" / ")]
            command = None
            for label in labels:
                step_notes[label] = join(step_notes.get(label, ""), item.group(2))
        elif sub and labels:
            command = command_key(sub.group(1))
            for label in labels:
                notes = command_notes.setdefault(label, {})
                notes[command] = sub.group(2).strip()
        elif labels:
            body = text.removeprefix("- ").strip()
            for label in labels:
                if command is not None:
                    notes = command_notes[label]
                    notes[command] = join(notes[command], body)
                else:
                    step_notes[label] = join(step_notes.get(label, ""), body)
    return step_notes, command_notes


def join(first: str, more: str) -> str:
    return f"{first} {more}".strip() if first else more.strip()
