"""The inventory of a workspace: the command's listing, explain's fate, the plugin's
count of in-code skips and lint's self-skip findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selftest.inventory.forms import DISTRIBUTED, line_of
from selftest.inventory.forms import KERNELS as KERNELS_PY
from testmatrix import cli
from testmatrix.config.loader import load_workspace
from testmatrix.core.fate import TestCase
from testmatrix.inventory.fates import in_code
from testmatrix.inventory.selfskip import findings, path_gpu_findings
from testmatrix.tools.explain import explain
from testmatrix.tools.lint import lint

KERNELS = "tests/kernels/test_attn.py"
COMM = "tests/distributed/test_comm.py"


def run_cli(root: Path, *args: str, capsys: pytest.CaptureFixture[str]):
    code = cli.main(["--root", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def by_line(listing: dict) -> dict[tuple[str, int], dict]:
    return {(f["file"], f["line"]): f for f in listing["findings"]}


def test_inventory_json_says_where_each_skip_fires(vllm_ws, capsys) -> None:
    code, out, _ = run_cli(vllm_ws, "inventory", "--json", capsys=capsys)
    assert code == 0
    found = by_line(json.loads(out))
    fp8 = found[(KERNELS, line_of(KERNELS_PY, 'IS_ROCM, reason="fp8'))]
    assert (fp8["kind"], fp8["tests"]) == ("skipif", [f"{KERNELS}::test_fp8"])
    assert fp8["fires_on"] == ["rocm", "rocm:mi300", "rocm:mi355"]
    assert fp8["does_not_fire_on"] == ["cuda"]
    param = found[(KERNELS, line_of(KERNELS_PY, "marks=pytest.mark.skipif(IS_ROCM"))]
    assert param["tests"] == [f"{KERNELS}::test_attention[flashinfer]"]
    gfx = found[
        (KERNELS, line_of(KERNELS_PY, "if not on_gfx950()"))
    ]  # declared true on mi355 only
    assert gfx["kind"] == "skip-call"
    assert gfx["fires_on"] == ["cuda", "rocm:mi300"]
    assert gfx["depends_on"] == {"rocm": ["on_gfx950()"]}
    need = found[(COMM, line_of(DISTRIBUTED, "@multi_gpu_test"))]
    assert (need["kind"], need["gpus"]) == ("gpu-need", 4)
    # suite distributed leases 2 everywhere: the need of 4 fires on every target
    assert need["fires_on"] == ["cuda", "rocm", "rocm:mi300", "rocm:mi355"]
    assert not any(f["reason"] == "a dependency is missing" for f in found.values())


def test_inventory_text_and_a_broken_file(vllm_ws, capsys) -> None:
    (vllm_ws / "tests/kernels/test_broken.py").write_text("def test_x(:\n")
    code, out, _ = run_cli(vllm_ws, "inventory", "tests/kernels", capsys=capsys)
    assert code == 1
    line = line_of(KERNELS_PY, 'IS_ROCM, reason="fp8')
    assert f"{KERNELS}:{line}: skipif [function] {KERNELS}::test_fp8" in out
    assert "tests/kernels/test_broken.py: not read: line 1: invalid syntax" in out
    assert COMM not in out  # only the path given


def test_inventory_refuses_bad_predicates_with_file_and_line(vllm_ws, capsys) -> None:
    suites = vllm_ws / "skiplists/suites.toml"
    suites.write_text(suites.read_text().replace('"on_gfx950()"', '"on_gfx950("'))
    code, out, err = run_cli(vllm_ws, "inventory", "--json", capsys=capsys)
    assert code == 2
    error = json.loads(out)["error"]
    assert "suites.toml:1: predicate 'on_gfx950(' is not a Python expression" in error
    code, _, err = run_cli(vllm_ws, "inventory", "no/such/dir", capsys=capsys)
    assert code == 2 and "no/such/dir: no such file or directory" in err


def cases() -> list[TestCase]:
    ids = [
        f"{KERNELS}::test_fp8",
        f"{KERNELS}::test_attention[triton]",
        f"{KERNELS}::test_attention[flashinfer]",
        f"{KERNELS}::test_gfx950_kernel",
        f"{KERNELS}::test_plain",
        f"{COMM}::test_allreduce_tp4",
        f"{COMM}::test_two",
    ]
    return [TestCase(i, i.split("::")[0]) for i in ids]


def test_explain_gives_the_fate_skipped_in_code_with_file_and_line(vllm_ws) -> None:
    workspace = load_workspace(vllm_ws)
    rows = in_code(workspace, explain(workspace, cases()))
    fate = {(r.target, r.test.nodeid): r.fate for r in rows}
    fp8 = fate[("rocm:mi300", f"{KERNELS}::test_fp8")]
    assert fp8.kind.value == "skipped-in-code"
    line = line_of(KERNELS_PY, 'IS_ROCM, reason="fp8')
    assert fp8.message == (
        f"skipped in code (skipif) at {KERNELS}:{line}: fp8 e4m3fn is not supported "
        "on ROCm"
    )
    assert fate[("cuda", f"{KERNELS}::test_fp8")].kind.value == "runs"
    assert fate[("rocm", f"{KERNELS}::test_attention[triton]")].kind.value == "runs"
    assert fate[("rocm", f"{KERNELS}::test_attention[flashinfer]")].kind.value == (
        "skipped-in-code"
    )
    gfx = fate[("rocm", f"{KERNELS}::test_gfx950_kernel")]
    assert gfx.kind.value == "runs"  # on the platform as a whole it depends
    assert gfx.message.startswith("may be skipped in code (skip-call)")
    assert "depends on on_gfx950()" in gfx.message
    assert fate[("rocm:mi355", f"{KERNELS}::test_gfx950_kernel")].kind.value == "runs"
    assert fate[("cuda", f"{COMM}::test_allreduce_tp4")].kind.value == (
        "skipped-in-code"
    )
    assert fate[("cuda", f"{COMM}::test_two")].kind.value == "runs"


def test_lint_finds_a_gpu_need_no_suite_meets(vllm_ws) -> None:
    workspace = load_workspace(vllm_ws)
    found = [str(f.message) for f in findings(workspace, cases())]
    need = f"{COMM}::test_allreduce_tp4 needs 4 GPUs, suite distributed leases 2 on"
    assert found == [  # one finding a platform, naming its targets
        f"{need} cuda: it skips every run",
        f"{need} rocm, rocm:mi300, rocm:mi355: it skips every run",
    ]
    suites = vllm_ws / "skiplists/suites.toml"
    suites.write_text(suites.read_text().replace("gpus = 2", "gpus = 4"))
    assert findings(load_workspace(vllm_ws), cases()) == []


def test_lint_paths_only_finds_the_need_without_importing_a_test(vllm_ws) -> None:
    found = [p.message for p in path_gpu_findings(load_workspace(vllm_ws))]
    need = f"{COMM}::test_allreduce_tp4 needs 4 GPUs, suite distributed leases 2 on"
    assert found == [
        f"{need} cuda: it skips every run",
        f"{need} rocm, rocm:mi300, rocm:mi355: it skips every run",
    ]
    findings_, _ = lint(vllm_ws, paths_only=True)
    line = line_of(DISTRIBUTED, "@multi_gpu_test")
    assert [str(f) for f in findings_ if "GPUs" in f.message] == [
        f"{COMM}:{line}: error: {message}" for message in found
    ]


def test_lint_finds_a_test_a_twin_suite_leaves_out_unexplained(vllm_ws) -> None:
    (vllm_ws / "skiplists/suites.toml").write_text(
        """
[suites.kernels-nv]
path = "tests/kernels"
platforms = ["cuda"]
platforms_reason = "the NVIDIA CI step"

[suites.kernels-amd]
path = "tests/kernels"
keyword = "not test_plain"
platforms = ["rocm"]
platforms_reason = "the AMD CI step"

[suites.distributed]
path = "tests/distributed"
gpus = 4
"""
    )
    workspace = load_workspace(vllm_ws)
    kernel_cases = [c for c in cases() if c.path == KERNELS]
    kernel_cases = [  # -k reads pytest's keywords: the function's name
        c._replace(keywords=frozenset({c.nodeid.split("::")[1].split("[")[0]}))
        for c in kernel_cases
    ]
    (finding,) = findings(workspace, kernel_cases)
    assert finding.severity == "warning"
    suites = vllm_ws / "skiplists/suites.toml"
    partitioned = suites.read_text().replace(
        'keyword = "not test_plain"',
        'exclude = ["test_attn.py"]\nexclude_reason = "runs in suite kernels-nv"',
    )
    suites.write_text(partitioned)  # an exclude says why: partitioning
    assert findings(load_workspace(vllm_ws), kernel_cases) == []
    assert finding.message.startswith(
        f"{KERNELS}::test_plain runs on cuda (suite kernels-nv) but no suite "
        "schedules it on rocm, rocm:mi300, rocm:mi355: kernels-amd leaves it out "
        "(kernels-amd: -k 'not test_plain')"
    )


def test_plugin_counts_in_code_skips_apart(vllm_ws, inprocess) -> None:
    summary = vllm_ws / "summary.json"
    result = inprocess(
        vllm_ws,
        "tests",
        "--testmatrix-platform=rocm",
        f"--testmatrix-summary-json={summary}",
    )
    assert result.returncode == 0, result.output
    counts = json.loads(summary.read_text())["counts"]
    # test_fp8, test_attention[flashinfer] and test_graphs skip on ROCm in code, so
    # does test_gfx950_kernel (no MI355 here); the 4-GPU test skips by its need;
    # the dependency skip is another kind of skip
    assert (counts["skipped_in_code"], counts["skipped_other"]) == (5, 1)
    assert "5 tests skipped by platform skips in the test code" in result.stdout
