"""Runner labels and agent tags to platforms: the user's mappings, the workspace's
agent settings, then the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmatrix.config.loader import load_workspace
from testmatrix.errors import UsageError
from testmatrix.pipelines.runners import Place, Runners, parse_mapping

from .support import write


def place(labels: list[str], *mappings: str) -> Place:
    found = Runners(mappings).place(labels)
    assert isinstance(found, Place), found
    return found


@pytest.mark.parametrize(
    ("labels", "platform", "variant", "gpus"),
    [
        (["linux-mi300-gpu-1"], "rocm", "mi300", 1),
        (["linux.rocm.gpu.gfx942.8"], "rocm", "gfx942", 8),
        (["linux-mi325-1gpu-ossci-rocm"], "rocm", "mi325", 1),
        (["self-hosted", "linux", "gpu", "MI300X"], "rocm", "mi300", None),
        (["amd_mi355_2"], "rocm", "mi355", 2),
        (["linux-h100-gpu-4"], "cuda", "h100", 4),
        (["mt-l-x86aavx2-11-41-l4", "cuda"], "cuda", "l4", None),
        (["self-hosted", "gpu"], "cuda", None, None),
        (["ubuntu-latest"], "cpu", None, None),
        (["cpu_queue_premerge"], "cpu", None, None),
    ],
)
def test_defaults_tell_the_platform_variant_and_gpus(
    labels: list[str], platform: str, variant: str | None, gpus: int | None
) -> None:
    found = place(labels)
    assert (found.platform, found.variant, found.gpus) == (platform, variant, gpus)
    assert found.rule == "default"


def test_a_gfx_target_and_the_variant_gfx_come_with_amd_labels() -> None:
    assert place(["linux-mi300-gpu-1"]).gfx == ("gfx942",)
    assert place(["linux.rocm.gpu.gfx90a.1"]).gfx == ("gfx90a",)


def test_the_users_mapping_comes_first_and_takes_globs() -> None:
    found = place(["tpu_v6e_queue"], "tpu_*=tpu:v6e")
    assert (found.platform, found.variant, found.rule) == ("tpu", "v6e", "--runner")
    # before the defaults: an AMD-looking label can mean another platform
    assert place(["amd-cpu-box"], "amd-cpu-*=cpu").platform == "cpu"


def test_unknown_labels_say_what_to_pass() -> None:
    why = Runners().place(["beefy", "queue=beefy"])
    assert isinstance(why, str)
    assert "'beefy'" in why and "--runner LABEL=PLATFORM" in why


@pytest.mark.parametrize("bad", ["gpu", "=cuda", "gpu=CUDA", "gpu=cuda:Mi300"])
def test_a_bad_mapping_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="--runner"):
        parse_mapping(bad)


def test_the_workspaces_variant_agent_settings_tell_the_variant(
    tmp_path: Path,
) -> None:
    write(tmp_path / "tests" / "test_a.py", "def test_a(): pass\n")
    write(
        tmp_path / "skiplists" / "suites.toml",
        """
        [suites.all]
        path = "tests"
        """,
    )
    write(
        tmp_path / "skiplists" / "platforms" / "rocm.toml",
        """
        [platform]
        description = "AMD"
        hardware = "rocm"

        [variants.big]
        description = "the big ones"
        match = ["gfx942"]
        buildkite = { queue = "amd-pool-{gpus}" }
        """,
    )
    workspace = load_workspace(tmp_path, tmp_path / "skiplists")
    found = Runners((), workspace).place(["amd-pool-8", "queue=amd-pool-8"])
    assert isinstance(found, Place)
    assert (found.platform, found.variant, found.rule) == ("rocm", "big", "workspace")
