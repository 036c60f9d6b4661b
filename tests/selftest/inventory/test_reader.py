"""The static reader: every form of in-code platform skip and GPU need, found
without importing the file."""

from __future__ import annotations

import textwrap

import pytest

from selftest.inventory import forms
from testmatrix.inventory import predicates, reader

CFG = predicates.build()


def read(source: str, cfg: predicates.Config = CFG):
    return reader.read("tests/t.py", textwrap.dedent(source).lstrip("\n"), cfg)


@pytest.mark.parametrize(
    "name", ["VLLM_KERNEL", "VLLM_MODULE", "VLLM_PYTESTMARK", "VLLM_MORE", "PYTORCH"]
)
def test_every_form_is_found_at_its_line_and_nothing_else(name: str) -> None:
    source = getattr(forms, name)
    found = reader.read("t.py", source.lstrip("\n"), CFG)
    assert found.error is None
    assert [(s.line, s.kind) for s in found.skips] == forms.expected(source)


def test_what_each_vllm_finding_covers_and_needs() -> None:
    found = reader.read("k.py", forms.VLLM_KERNEL.lstrip("\n"), CFG).skips
    table = {(s.line, s.covers, s.scope, s.param, s.gpus, s.xfail) for s in found}
    assert (24, "test_fp8_quant", "function", None, None, False) in table
    assert (49, "test_attention", "param", "aiter", None, False) in table
    assert (56, "test_attention", "param", "flashinfer", None, False) in table
    assert (72, "test_tp4", "function", None, 4, False) in table
    assert (78, "test_tp", "param", "2", 2, False) in table  # pytest's own id
    assert (84, "test_p2p", "function", None, 2, False) in table  # <= 1: needs 2
    assert (96, "rocm_aiter", "fixture", None, None, False) in table
    assert (106, "TestLora", "class", None, None, False) in table
    assert (114, "TestLora::test_b", "function", None, None, True) in table


def test_marks_added_up_and_generated_parameters() -> None:
    found = reader.read("m.py", forms.VLLM_MORE.lstrip("\n"), CFG).skips
    by_kind = [(s.kind, s.scope, s.param, s.gpus) for s in found]
    assert ("gpu-need", "param", "big", 4) in by_kind
    assert ("skipif", "param", "big", None) in by_kind
    # a comprehension's marks hold for every set it generates: the whole test
    assert ("gpu-need", "param", None, 2) in by_kind
    assert found[0].condition == "not (current_platform.is_rocm() and on_gfx950())"


def test_names_bound_once_and_helpers_are_read_through() -> None:
    found = reader.read("k.py", forms.VLLM_KERNEL.lstrip("\n"), CFG).skips
    conditions = {s.line: s.condition for s in found}
    assert conditions[24] == "current_platform.is_rocm()"  # IS_ROCM
    assert conditions[38] == "not current_platform.has_device_capability(90)"
    assert "on_gfx950()" in conditions[67] and "is_rocm()" in conditions[67]


def test_a_name_bound_twice_is_not_guessed() -> None:
    found = read(
        """
        import pytest
        from vllm.platforms import current_platform
        FAST = False
        if current_platform.is_cuda():
            FAST = True
        else:
            FAST = None

        @pytest.mark.skipif(not FAST, reason="slow here")
        def test_x():
            pass
        """
    )
    assert found.skips == ()  # FAST has no one value: not a platform predicate


def test_a_name_gated_by_an_if_reads_as_the_gate_and_its_value() -> None:
    found = read(
        """
        import pytest
        from vllm.platforms import current_platform
        ROCM_AVAILABLE = current_platform.is_rocm()
        GFX950_AVAILABLE = False
        if ROCM_AVAILABLE:
            from vllm.platforms.rocm import on_gfx950

            GFX950_AVAILABLE = on_gfx950()

        @pytest.mark.skipif(not GFX950_AVAILABLE, reason="gfx950")
        def test_x():
            pass
        """
    )
    (skip,) = found.skips
    assert skip.condition == "not (current_platform.is_rocm() and on_gfx950())"


def test_a_skip_in_a_helper_covers_the_tests_that_call_it() -> None:
    found = read(
        """
        import pytest
        from vllm.platforms import current_platform

        def _skip_on_rocm():
            if current_platform.is_rocm():
                pytest.skip("not on ROCm")

        def test_a():
            _skip_on_rocm()

        def test_b():
            pass
        """
    )
    (skip,) = found.skips
    assert (skip.scope, skip.covers) == ("helper", "_skip_on_rocm")
    assert dict(found.tests)["test_a"] == ("_skip_on_rocm",)


def test_conditions_under_nested_ifs_and_else_branches_combine() -> None:
    found = read(
        """
        import pytest
        from vllm.platforms import current_platform

        def test_x(dtype):
            if dtype == "fp8":
                if current_platform.is_rocm():
                    pytest.skip("fp8 on ROCm")
            if current_platform.is_cuda():
                pass
            else:
                pytest.skip("CUDA only")
        """
    )
    (nested, other) = found.skips
    assert nested.condition == "dtype == 'fp8' and current_platform.is_rocm()"
    assert nested.line == 6 and nested.end_line == 7  # from the inner if
    assert other.condition == "not current_platform.is_cuda()"
    assert other.line == 11  # the call itself: its if has another branch


def test_unconditional_and_non_platform_skips_are_not_inventoried() -> None:
    found = read(
        """
        import pytest
        pytestmark = pytest.mark.skipif("sys.platform == 'win32'", reason="str")

        @pytest.mark.skip(reason="always")
        def test_a():
            pytest.skip("always")

        @pytest.mark.xfail(reason="always")
        def test_b():
            if not HAS_DEPENDENCY:
                pytest.skip("a dependency")
        """
    )
    assert found.skips == ()


def test_a_file_that_does_not_parse_is_one_error_not_a_crash() -> None:
    found = read("def test_x(:\n    pass\n")
    assert found.skips == ()
    assert found.error == "line 1: invalid syntax"


def test_configured_predicates_skips_and_gpu_marks_are_used() -> None:
    cfg = predicates.build(
        presets=(),
        predicates={"IS_MI355": ("rocm:mi355",)},
        skips={"needs_mi355": "not IS_MI355"},
        gpu_marks={"need_gpus": "count"},
    )
    found = read(
        """
        @needs_mi355
        @need_gpus(count=8)
        def test_x():
            pass

        @skipIfRocm
        def test_preset_off():
            pass
        """,
        cfg,
    )
    assert [(s.kind, s.condition, s.gpus) for s in found.skips] == [
        ("skipif", "not IS_MI355", None),
        ("gpu-need", "__gpus__ < 8", 8),
    ]


def test_the_tests_of_a_file_and_their_fixtures_are_recorded() -> None:
    found = read(
        """
        def test_a(tmp_path, rocm_only):
            pass

        class TestB:
            def test_c(self):
                pass
        """
    )
    assert found.tests == (
        ("test_a", ("tmp_path", "rocm_only")),
        ("TestB::test_c", ("self",)),
    )


def test_imports_under_another_name_lists_of_params_and_records_with_marks() -> None:
    found = read(
        """
        import pytest
        from vllm.platforms import current_platform as cp
        from tests.utils import multi_gpu_marks

        BACKENDS = [
            "triton",
            pytest.param("ck", marks=pytest.mark.skipif(not cp.is_rocm(), reason="CK")),
        ]
        VLM = {
            "big": VLMTestInfo(models=["x"], marks=multi_gpu_marks(num_gpus=4)),
        }

        @pytest.mark.parametrize("backend", BACKENDS)
        def test_backend(backend):
            pass
        """
    )
    table = [(s.line, s.kind, s.scope, s.covers, s.param) for s in found.skips]
    assert table == [
        (10, "gpu-need", "param", "", "?"),  # generated sets: which, unknown
        (7, "skipif", "param", "test_backend", "ck"),  # read through BACKENDS
    ]
    assert found.skips[-1].condition == "not current_platform.is_rocm()"
