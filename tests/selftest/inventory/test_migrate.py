"""`testmatrix migrate`: an in-code platform skip becomes a skiplist entry and leaves
the test code, which keeps running the same tests on the other platforms."""

from __future__ import annotations

from pathlib import Path

import pytest

from selftest.helpers import collected_ids
from selftest.inventory.forms import KERNELS as KERNELS_PY
from selftest.inventory.forms import line_of
from testmatrix import cli, errors
from testmatrix.config.loader import load_workspace
from testmatrix.inventory.migrate import migrate

KERNELS = "tests/kernels/test_attn.py"
FP8 = line_of(KERNELS_PY, 'IS_ROCM, reason="fp8')


def collect(inprocess, root: Path, platform: str, *more: str) -> list[str]:
    result = inprocess(
        root,
        "tests",
        "--collect-only",
        "-q",
        f"--testmatrix-platform={platform}",
        *more,
    )
    assert result.returncode == 0, result.output
    return collected_ids(result)


def test_a_decorator_becomes_a_deselect_entry_shown_as_diffs(vllm_ws) -> None:
    rocm = vllm_ws / "skiplists/platforms/rocm.toml"
    before = rocm.read_bytes()
    result = migrate(load_workspace(vllm_ws), f"{KERNELS}:{FP8}")
    assert result.written == [] and rocm.read_bytes() == before  # only shown
    removed = [line for line in result.diff.splitlines() if line.startswith("-")]
    assert removed == [
        f"--- a/{KERNELS}",
        '-@pytest.mark.skipif(IS_ROCM, reason="fp8 e4m3fn is not supported on ROCm")',
        "--- a/skiplists/platforms/rocm.toml",
    ]
    decorator = (
        '@pytest.mark.skipif(IS_ROCM, reason="fp8 e4m3fn is not supported on ROCm")'
    )
    assert result.entries == {
        "skiplists/platforms/rocm.toml": (
            "\n"
            f"# moved from the test code by testmatrix migrate ({KERNELS}:{FP8}):\n"
            f"#   {decorator}\n"
            "[[deselect]]\n"
            f'test = "{KERNELS}::test_fp8"\n'
            'reason = "fp8 e4m3fn is not supported on ROCm"\n'
        )
    }
    assert result.dropped_imports == []  # IS_ROCM still marks a parameter


@pytest.mark.slow  # real pytest collections before and after (in process)
def test_write_appends_the_entry_and_cuda_collects_the_same_tests(
    vllm_ws, inprocess
) -> None:
    rocm_file = vllm_ws / "skiplists/platforms/rocm.toml"
    old_entries = rocm_file.read_bytes()
    on_cuda = collect(inprocess, vllm_ws, "cuda")
    on_rocm = collect(inprocess, vllm_ws, "rocm")
    assert f"{KERNELS}::test_fp8" in on_rocm  # collected, then skips in code
    code = cli.main(["--root", str(vllm_ws), "migrate", f"{KERNELS}:{FP8}", "--write"])
    assert code == 0
    assert rocm_file.read_bytes().startswith(old_entries)  # not one byte disturbed
    source = (vllm_ws / KERNELS).read_text()
    assert "fp8 e4m3fn" not in source and "# fp8 kernels differ on ROCm" in source
    assert collect(inprocess, vllm_ws, "cuda") == on_cuda
    after = collect(inprocess, vllm_ws, "rocm")
    assert after == [t for t in on_rocm if t != f"{KERNELS}::test_fp8"]


@pytest.mark.slow  # real pytest collections before and after (in process)
def test_a_param_mark_and_an_if_block_with_variants(vllm_ws, inprocess) -> None:
    workspace = load_workspace(vllm_ws)
    on_cuda = collect(inprocess, vllm_ws, "cuda")
    param = line_of(KERNELS_PY, "marks=pytest.mark.skipif(IS_ROCM")
    result = migrate(workspace, f"{KERNELS}:{param}", write=True)
    assert (
        '"tests/kernels/test_attn.py::test_attention[flashinfer]"'
        in (result.entries["skiplists/platforms/rocm.toml"])
    )
    assert 'pytest.param(\n            "flashinfer",\n        ),' in (
        (vllm_ws / KERNELS).read_text()
    )
    # `if not on_gfx950(): pytest.skip(...)` fires on cuda and on rocm:mi300
    block = line_of(KERNELS_PY, "if not on_gfx950()")
    result = migrate(load_workspace(vllm_ws), f"{KERNELS}:{block}", write=True)
    assert set(result.entries) == {
        "skiplists/platforms/cuda.toml",
        "skiplists/platforms/rocm.toml",
    }
    assert 'variants = ["mi300"]' in result.entries["skiplists/platforms/rocm.toml"]
    assert "variants" not in result.entries["skiplists/platforms/cuda.toml"]
    assert result.dropped_imports == ["on_gfx950"]  # nothing else used it
    source = (vllm_ws / KERNELS).read_text()
    assert "on_gfx950" not in source
    assert "def test_gfx950_kernel():\n    pass\n" in source
    load_workspace(vllm_ws)  # the skiplists still load
    # on cuda the gfx950 test is now deselected by the entry instead of skipping
    assert collect(inprocess, vllm_ws, "cuda") == [
        t for t in on_cuda if not t.endswith("test_gfx950_kernel")
    ]


@pytest.mark.slow  # real pytest collections before and after (in process)
def test_a_module_skip_becomes_an_ignore_of_each_suite(vllm_ws, inprocess) -> None:
    (vllm_ws / "tests/kernels/test_rocm_only.py").write_text(
        "import pytest\n"
        "\n"
        "from vllm.platforms import current_platform\n"
        "\n"
        "if not current_platform.is_rocm():\n"
        '    pytest.skip("ROCm-only kernels", allow_module_level=True)\n'
        "\n"
        "\n"
        "def test_rocm_kernel():\n"
        "    pass\n"
    )
    on_cuda = collect(inprocess, vllm_ws, "cuda")
    on_rocm = collect(inprocess, vllm_ws, "rocm")
    result = migrate(load_workspace(vllm_ws), "tests/kernels/test_rocm_only.py:5")
    assert result.entries["skiplists/platforms/cuda.toml"].endswith(
        '[[ignore]]\nsuite = "kernels"\npath = "test_rocm_only.py"\n'
        'reason = "ROCm-only kernels"\n'
    )
    migrate(load_workspace(vllm_ws), "tests/kernels/test_rocm_only.py:5", write=True)
    text = (vllm_ws / "tests/kernels/test_rocm_only.py").read_text()
    # pytest and current_platform served the skip alone: their imports went too
    assert text == "def test_rocm_kernel():\n    pass\n"
    assert collect(inprocess, vllm_ws, "cuda") == on_cuda
    assert collect(inprocess, vllm_ws, "rocm") == on_rocm


def test_a_pytestmark_element_and_the_import_it_leaves_unused(vllm_ws) -> None:
    path = vllm_ws / "tests/distributed/test_marks.py"
    path.write_text(
        "import pytest\n"
        "\n"
        "from vllm.platforms import current_platform\n"
        "from vllm.testing import cuda_device_count_stateless, multi_gpu_test\n"
        "\n"
        "pytestmark = [\n"
        "    pytest.mark.skipif(\n"
        '        current_platform.is_rocm(), reason="NCCL symmetric memory"\n'
        "    ),  # AMD has its own\n"
        '    pytest.mark.skipif(cuda_device_count_stateless() < 2, reason="2"),\n'
        "]\n"
        "\n"
        "\n"
        "@multi_gpu_test(num_gpus=2)\n"
        "def test_x():\n"
        "    pass\n"
    )
    result = migrate(load_workspace(vllm_ws), "tests/distributed/test_marks.py:7")
    assert "[[ignore]]" in result.entries["skiplists/platforms/rocm.toml"]
    removed = [line for line in result.diff.splitlines() if line.startswith("-    ")]
    assert removed == [
        "-    pytest.mark.skipif(",
        '-        current_platform.is_rocm(), reason="NCCL symmetric memory"',
        "-    ),  # AMD has its own",
    ]
    assert "-from vllm.platforms import current_platform" in result.diff
    assert "-from vllm.testing" not in result.diff  # still used


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (f"{KERNELS}:2", "no in-code platform skip there"),
        (f"{KERNELS}", "expected FILE:LINE"),
        ("tests/distributed/test_comm.py:6", "a GPU need is no platform skip"),
        ("nowhere.py:3", "nowhere.py: no such file"),
    ],
)
def test_what_migrate_refuses(vllm_ws, where: str, message: str) -> None:
    with pytest.raises(errors.TestmatrixError, match=message):
        migrate(load_workspace(vllm_ws), where)


def test_a_condition_that_depends_is_refused(vllm_ws) -> None:
    suites = vllm_ws / "skiplists/suites.toml"
    suites.write_text(suites.read_text().replace('"on_gfx950()" = ["rocm:mi355"]', ""))
    block = line_of(KERNELS_PY, "if not on_gfx950()")
    with pytest.raises(
        errors.TestmatrixError, match=r"depends on on_gfx950\(\) on rocm:mi300"
    ):
        migrate(load_workspace(vllm_ws), f"{KERNELS}:{block}")


def test_an_if_with_an_else_branch_is_left_to_a_person(vllm_ws) -> None:
    path = vllm_ws / "tests/kernels/test_else.py"
    path.write_text(
        "import pytest\n"
        "from vllm.platforms import current_platform\n"
        "\n"
        "def test_x():\n"
        "    if current_platform.is_rocm():\n"
        '        pytest.skip("no")\n'
        "    else:\n"
        "        print('cuda')\n"
    )
    before = path.read_text()
    with pytest.raises(errors.TestmatrixError, match="has an else branch"):
        migrate(load_workspace(vllm_ws), "tests/kernels/test_else.py:5", write=True)
    assert path.read_text() == before


def test_an_issue_must_be_a_link(vllm_ws) -> None:
    with pytest.raises(errors.TestmatrixError, match="--issue must be a link"):
        migrate(load_workspace(vllm_ws), f"{KERNELS}:{FP8}", issue="JIRA-12")
    result = migrate(
        load_workspace(vllm_ws), f"{KERNELS}:{FP8}", issue="https://x.test/issue/1"
    )
    assert (
        'issue = "https://x.test/issue/1"'
        in result.entries["skiplists/platforms/rocm.toml"]
    )
