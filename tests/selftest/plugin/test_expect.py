"""Expected failures with a signature: the tests run; a failure with the recorded
error passes the run, a pass fails it naming the stale entry, another error fails it
showing both errors."""

from __future__ import annotations

import pytest

from testmatrix.core.model import Signature
from testmatrix.plugin.expect import matches

ENCODER = (
    "Encoder self-attention and encoder/decoder cross-attention are not implemented"
)
TESTS = f"""
    import pytest

    def test_still_broken():
        raise NotImplementedError("{ENCODER} for TritonAttentionImpl")

    def test_broken_otherwise():
        raise ValueError("shape mismatch")

    def test_fixed_now():
        assert True

    @pytest.fixture
    def server():
        raise NotImplementedError("{ENCODER} for RocmAttentionImpl")

    def test_broken_in_setup(server):
        pass

    def test_not_listed():
        assert True
"""
ROCM = f"""
    [platform]
    hardware = "rocm"

    [[deselect]]
    tests = [
        "tests/unit/test_enc.py::test_still_broken",
        "tests/unit/test_enc.py::test_broken_otherwise",
        "tests/unit/test_enc.py::test_fixed_now",
        "tests/unit/test_enc.py::test_broken_in_setup",
    ]
    reason = "encoder attention on ROCm"
    issue = "https://github.com/vllm-project/vllm/issues/27442"
    fails = {{ error = "NotImplementedError", match = "{ENCODER}" }}
"""


@pytest.fixture
def root(tiny):
    return tiny(
        {"tests/unit/test_enc.py": TESTS, "skiplists/platforms/rocm.toml": ROCM}
    )


def test_each_outcome_is_judged_by_its_error(inprocess, root):
    result = inprocess(root, "tests/unit", "--platform=rocm", "-rxf")
    assert result.returncode == 1
    assert result.counts() == {"xfailed": 2, "failed": 2, "passed": 1}
    out = result.stdout
    assert "XFAIL tests/unit/test_enc.py::test_still_broken" in out
    # (pytest 9 says "XFAIL at setup of ...", earlier pytest "XFAIL ...")
    assert any(
        line.startswith("XFAIL ")
        and "tests/unit/test_enc.py::test_broken_in_setup - expected on rocm" in line
        for line in out.splitlines()
    )
    lines = (root / "skiplists/platforms/rocm.toml").read_text().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if "::test_fixed_now" in t)
    assert (
        f"test_fixed_now passes on rocm, but [skiplists/platforms/rocm.toml:{line}] "
        f"expects it to fail with NotImplementedError: {ENCODER}: the entry is stale"
        in out
    )
    assert (
        "test_broken_otherwise fails differently on rocm: expected NotImplementedError"
        in out
    )
    assert "got ValueError: shape mismatch" in out


def test_expected_failures_are_not_deselected_or_ignored(inprocess, root):
    # the same tests on cuda: no entry, so they simply run
    result = inprocess(root, "tests/unit", "--platform=cuda")
    assert result.counts() == {"failed": 2, "error": 1, "passed": 2}


@pytest.mark.parametrize(
    "signature, error, expected",
    [
        (Signature("NotImplementedError"), NotImplementedError("x"), True),
        (Signature("RuntimeError"), NotImplementedError("x"), True),  # a base class
        (Signature("builtins.NotImplementedError"), NotImplementedError(), True),
        (Signature("ValueError"), NotImplementedError("x"), False),
        (Signature("NotImplementedError", "Encoder"), NotImplementedError("x"), False),
        (Signature("NotImplementedError", "^Enc"), NotImplementedError("Enc y"), True),
    ],
)
def test_signature_matching(signature, error, expected):
    assert matches(signature, error) is expected


@pytest.mark.parametrize(
    "fails, message",
    [
        (
            '{ match = "x" }',
            "'fails' in [[deselect]] entry has no 'error'",
        ),
        (
            '{ error = "Not Implemented" }',
            "'error' in 'fails' in [[deselect]] entry must be an exception type",
        ),
        (
            '{ error = "E", match = "(" }',
            "is not a safe message pattern: '(' (column 1): groups are not in",
        ),
    ],
)
def test_a_bad_signature_is_one_located_line(tiny, fails, message):
    from testmatrix.config.loader import load_workspace
    from testmatrix.errors import ConfigError

    rocm = ROCM.replace(
        f'fails = {{{{ error = "NotImplementedError", match = "{ENCODER}" }}}}'.replace(
            "{{", "{"
        ).replace("}}", "}"),
        f"fails = {fails}",
    )
    root = tiny(
        {"tests/unit/test_enc.py": TESTS, "skiplists/platforms/rocm.toml": rocm}
    )
    with pytest.raises(ConfigError) as info:
        load_workspace(root)
    (line,) = str(info.value).splitlines()
    assert line.startswith("skiplists/platforms/rocm.toml:") or ":1" in line
    assert message in line, line
