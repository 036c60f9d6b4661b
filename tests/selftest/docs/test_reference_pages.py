"""The site's generated reference pages (docs/hooks/refpages) list everything the code
declares: checked against what the code says by other ways (the JSON Schemas,
`--help`), so a page that left something out fails here."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from selftest.helpers import REPO
from testmatrix.cli import main
from testmatrix.config import schema, schemafiles


@pytest.fixture
def refpages(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """The generator modules, imported as the MkDocs hook imports them."""
    monkeypatch.syspath_prepend(str(REPO / "docs" / "hooks"))
    names = ("cli", "layout", "pytest_options", "skiplists", "text")
    return types.SimpleNamespace(
        **{n: importlib.import_module(f"refpages.{n}") for n in names}
    )


def _properties(node: Any) -> Iterator[str]:
    """Every key a JSON Schema declares, at any depth."""
    if isinstance(node, dict):
        yield from node.get("properties", {})
        for value in node.values():
            yield from _properties(value)
    elif isinstance(node, list):
        for value in node:
            yield from _properties(value)


def _rows(page: str) -> set[str]:
    """The names in the first column of the page's tables: | `name` ... |."""
    return set(re.findall(r"^\| `([^`]+)`", page, re.M))


def test_the_key_reference_has_a_row_for_every_key_the_json_schemas_declare(
    refpages,
):
    page, missing = refpages.skiplists.page()
    rows = _rows(page)
    for document in schema.DOCUMENTS:
        declared = set(_properties(schemafiles.json_schema(document)))
        # the tables' own names are sections, not rows of a keys table
        sections = set(document.root.keys)
        assert declared - sections <= rows, document.path
        for name in sections:
            assert f"`{name}" in page or f"[{name}" in page, name
    assert missing == []


def test_the_key_reference_links_only_to_sections_it_has(refpages):
    page, _ = refpages.skiplists.page()
    anchors = set(re.findall(r"\{ #([a-z0-9-]+) \}", page))
    links = set(re.findall(r"\]\(#([a-z0-9-]+)\)", page))
    assert links and links <= anchors


def _help(*argv: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main([*argv, "--help"])
    return out.getvalue()


def test_the_cli_reference_has_every_subcommand_and_option_help_shows(refpages):
    page, _ = refpages.cli.page()
    subcommands = re.search(r"\{([a-z,-]+)\}", _help()).group(1).split(",")
    assert len(subcommands) >= 9
    for name in subcommands:
        assert f"## `testmatrix {name}`" in page
        section = page.split(f"## `testmatrix {name}`")[1].split("\n## ")[0]
        usage = _help(name).split("\n\n")[0]  # every option, required ones too
        options = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", usage))
        options -= {"-h", "--help"}
        assert options <= set(re.findall(r"`(--?[a-z][\w-]*)`", section)), name


def test_the_cli_reference_reports_an_option_without_help(refpages, monkeypatch):
    parser = argparse.ArgumentParser(prog="testmatrix")
    sub = parser.add_subparsers(dest="command")
    command = sub.add_parser("frobnicate", help="does a thing")
    command.add_argument("--quietly", action="store_true")
    command.add_argument("--loudly", action="store_true", help="says so")
    fake = types.ModuleType("fake_cli")
    fake.build_parser = lambda: parser  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_cli", fake)
    monkeypatch.setattr(refpages.cli, "CLI_MODULE", "fake_cli")
    page, missing = refpages.cli.page()
    assert missing == ["no help text: testmatrix frobnicate --quietly"]
    assert "| `--loudly` | flag |  | says so |" in page


def test_the_pytest_reference_has_every_option_pytest_help_shows(
    refpages, tiny, inprocess
):
    page, missing = refpages.pytest_options.page()
    result = inprocess(tiny({}), "--help")
    assert result.returncode == 0, result.output
    shown = set(re.findall(r"(--testmatrix-[a-z-]+)", result.stdout))
    assert len(shown) >= 10
    assert set(re.findall(r"`(--testmatrix-[a-z-]+)`", page)) == shown
    for ini in ("skiplists", "strict_platform"):
        assert f"| `{ini}` |" in page
    assert missing == []


def test_the_layout_lists_every_layer_of_the_import_contract(refpages):
    page, _ = refpages.layout.page(REPO)
    text = (REPO / "pyproject.toml").read_text()
    layers = re.search(r"layers = \[(.*?)\]", text, re.S).group(1)
    for name in re.findall(r"[a-z_]+", layers):
        assert f"| `{name}` |" in page, name


def test_text_escapes_outside_code_spans_only(refpages):
    prose = refpages.text.prose
    assert prose("a | b <c> `x|y<z>`") == r"a \| b &lt;c&gt; `x|y<z>`"
    assert refpages.text.code("a`b") == "``a`b``"
    assert refpages.text.toml(["x", True, 2]) == '`["x", true, 2]`'
