"""The module constants a test function names, read from its file's source."""

from __future__ import annotations

import os
import textwrap

from testmatrix.plugin.constants import module_uses

SOURCE = """
    MODEL_NAME = "org/one"
    MODELS: list[str] = ["org/two", "org/three"]
    NOT_A_STRING = 3
    DATASET = "org/data"

    def test_body():
        assert MODEL_NAME

    async def test_async():
        for model in MODELS:
            assert model

    def test_none():
        local = "org/local"
        assert local

    class TestGroup:
        def test_method(self):
            return DATASET, NOT_A_STRING

    def helper():
        def inner():
            return MODEL_NAME
        return inner
"""


def test_each_function_gets_the_string_constants_its_body_names(tmp_path):
    path = tmp_path / "test_m.py"
    path.write_text(textwrap.dedent(SOURCE))
    uses = module_uses(str(path), "tests/test_m.py")
    assert uses["test_body"] == (("org/one", "MODEL_NAME", "tests/test_m.py:2"),)
    assert uses["test_async"] == (
        ("org/two", "MODELS", "tests/test_m.py:3"),
        ("org/three", "MODELS", "tests/test_m.py:3"),
    )
    assert uses["test_none"] == ()
    assert uses["TestGroup.test_method"] == (
        ("org/data", "DATASET", "tests/test_m.py:5"),
    )
    assert uses["helper"] == (("org/one", "MODEL_NAME", "tests/test_m.py:2"),)


def test_a_changed_file_is_read_again_and_a_broken_one_gives_nothing(tmp_path):
    path = tmp_path / "test_m.py"
    path.write_text('MODEL = "org/a"\ndef test_x():\n    return MODEL\n')
    assert module_uses(str(path), "t.py")["test_x"][0][0] == "org/a"
    path.write_text('MODEL = "org/bb"\ndef test_x():\n    return MODEL\n')
    os.utime(path, ns=(1, 1))  # another mtime even within the clock's resolution
    assert module_uses(str(path), "t.py")["test_x"][0][0] == "org/bb"
    path.write_text("def test_x(:\n")
    assert module_uses(str(path), "t.py") == {}
    assert module_uses(str(tmp_path / "missing.py"), "m.py") == {}
