"""The target of a run: platform and variant from options, the environment or the
detected hardware, and whether the hardware is the target's."""

from __future__ import annotations

from collections.abc import Sequence

from testmatrix.core.model import (
    Platform,
    Variant,
    Workspace,
)
from testmatrix.core.names import ENV_PLATFORM as ENV_PLATFORM
from testmatrix.core.names import (
    session_name as session_name,  # named once, for nox -l too
)
from testmatrix.errors import UsageError, unknown


def platform_named(workspace: Workspace, name: str) -> Platform | None:
    """The declared platform `name`; None for 'none' (no skiplist applies)."""
    if name == "none":
        return None
    if name not in workspace.platforms:
        raise UsageError(unknown("platform", name, [*workspace.platforms, "none"]))
    return workspace.platforms[name]


def variant_named(platform: Platform | None, name: str | None) -> Variant | None:
    """The declared variant `name` of a platform; None for the platform as a whole."""
    if name is None:
        return None
    if platform is None or name not in platform.variants:
        where = f"platform {platform.name}" if platform else "platform none"
        raise UsageError(
            unknown(f"variant of {where}", name, platform_variants(platform))
        )
    return platform.variants[name]


def platform_variants(platform: Platform | None) -> list[str]:
    return list(platform.variants) if platform is not None else []


def target_platform(
    workspace: Workspace, requested: str | None, hardware: str
) -> Platform | None:
    """The platform whose skiplist applies: the one asked for (option or environment),
    else the platform of the detected hardware, else none."""
    if requested:
        return platform_named(workspace, requested)
    found = (p for p in workspace.platforms.values() if p.hardware == hardware)
    return next(found, None)


def matches(variant: Variant, models: Sequence[str]) -> bool:
    """Whether detected devices (gfx targets, device names) are this variant's."""
    wanted = [m.lower() for m in variant.match]
    return any(w == m.lower() or w in m.lower() for w in wanted for m in models)


def target_variant(
    platform: Platform | None,
    requested: str | None,
    hardware: str,
    models: Sequence[str],
) -> Variant | None:
    """The variant whose entries apply too: the one asked for, else the variant the
    detected devices are (on the platform's own hardware), else none (platform-wide)."""
    if requested or platform is None:
        return variant_named(platform, requested)
    if platform.hardware != hardware:
        return None
    return next((v for v in platform.variants.values() if matches(v, models)), None)


def hardware_mismatch(
    platform: Platform | None,
    variant: Variant | None,
    hardware: str,
    models: Sequence[str],
    found: str,
) -> str | None:
    """Why strict mode refuses to run this target on this machine, or None."""
    if platform is None:
        return None
    if platform.hardware != hardware:
        return (
            f"--strict-platform: target platform '{platform.name}' needs "
            f"{platform.hardware} hardware, but this machine has {found}; "
            f"drop --strict-platform to simulate {platform.name} here"
        )
    if variant is not None and not matches(variant, models):
        wanted = ", ".join(variant.match) or "(the variant declares no 'match')"
        seen = ", ".join(models) or "devices whose model could not be read"
        return (
            f"--strict-platform: target variant '{platform.name}:{variant.name}' "
            f"needs {wanted}, but this machine has {seen}; drop --strict-platform "
            "to simulate it here"
        )
    return None
