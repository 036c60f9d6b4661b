"""Reading a tree: every file once, and only the files that can matter when the
whole collection asks (explain, the plugin, lint)."""

from __future__ import annotations

from pathlib import Path

from selftest.helpers import write
from testmatrix.inventory import predicates, scan
from testmatrix.inventory.coverage import Index

CFG = predicates.build()


def test_only_files_that_can_matter_are_parsed(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/conftest.py": """
                import pytest
                from vllm.platforms import current_platform

                @pytest.fixture
                def rocm_only():
                    if not current_platform.is_rocm():
                        pytest.skip("ROCm only")
            """,
            "tests/test_uses.py": "def test_a(rocm_only):\n    pass\n",
            "tests/test_plain.py": "def test_b(:\n",  # names nothing that skips
        },
    )
    rels = scan.test_files(tmp_path, ["tests"])
    quick = {f.path: f for f in scan.read_quickly(tmp_path, rels, CFG)}
    assert quick["tests/test_plain.py"].error is None  # not parsed
    assert quick["tests/test_uses.py"].tests == (("test_a", ("rocm_only",)),)
    (skip,) = quick["tests/conftest.py"].skips
    index = Index(quick.values())
    assert index.tests_of(skip) == ["tests/test_uses.py::test_a"]
    full = {f.path: f for f in scan.scan(tmp_path, ["tests"], CFG)}
    assert full["tests/test_plain.py"].error == "line 1: invalid syntax"


def test_unchanged_content_is_parsed_once(tmp_path: Path) -> None:
    write(
        tmp_path, {"test_x.py": "import pytest\n\ndef test_x():\n    pytest.skip()\n"}
    )
    first = scan.read_file(tmp_path, "test_x.py", CFG)
    assert scan.read_file(tmp_path, "test_x.py", CFG) is first
    (tmp_path / "test_x.py").write_text("def test_y():\n    pass\n")
    assert scan.read_file(tmp_path, "test_x.py", CFG).tests == (("test_y", ()),)


def test_oversized_and_undecodable_files_are_one_error_each(tmp_path: Path) -> None:
    (tmp_path / "test_big.py").write_bytes(b"#" * (scan.MAX_BYTES + 1))
    (tmp_path / "test_latin.py").write_bytes(b"# caf\xe9\n")
    big = scan.read_file(tmp_path, "test_big.py", CFG)
    latin = scan.read_file(tmp_path, "test_latin.py", CFG)
    assert big.error == f"larger than {scan.MAX_BYTES} bytes: not read"
    assert latin.error == "not UTF-8 (byte 5)"
