"""The cache: plain JSON, its stamp read before anything else, served only from a
regular file of this user that no one else can write; never code from data."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from selftest.helpers import REPO
from testmatrix.config import cache, codec, listing
from testmatrix.config.loader import load_workspace


@pytest.fixture
def root(tiny) -> Path:
    """A small workspace with entries of every kind, no cache in it."""
    return tiny(
        {
            "tests/unit/test_a.py": "def test_a(): pass\n",
            "tests/unit/sub/test_b.py": "def test_b(): pass\n",
            "skiplists/platforms/rocm.toml": """
                [platform]
                hardware = "rocm"

                [variants.mi300]
                match = ["gfx942"]

                [[ignore]]
                suite = "unit"
                path = "sub"
                reason = "r"
                expires = 2027-01-31
                variants = ["mi300"]

                [[deselect]]
                test = "tests/unit/test_a.py::test_a"
                reason = "r"
                fails = { error = "ValueError", match = 'bad [a-z]+' }

                [[skip]]
                marker = "encoder_decoder"
                models = ["org/a", "org/b"]
                reason = "r"

                [[flaky]]
                test = "tests/unit/*"
                reason = "r"
            """,
        }
    )


def cached_file(root: Path) -> Path:
    return root / "skiplists/__pycache__/testmatrix-workspace.json"


@pytest.fixture
def fresh_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The workspaces read from TOML from here on (not served from the cache)."""
    from testmatrix.config import reader

    loads: list[Path] = []
    load = reader.Reader.load

    def counted(self: reader.Reader):  # type: ignore[no-untyped-def]
        loads.append(self.root)
        return load(self)

    monkeypatch.setattr(reader.Reader, "load", counted)
    return loads


def test_a_workspace_comes_back_equal_from_its_json(root, monkeypatch):
    monkeypatch.setenv("TESTMATRIX_NO_CACHE", "1")
    for where in (root, REPO, REPO / "examples/gpu-lease"):
        workspace = load_workspace(where)
        text = codec.encode(workspace)
        assert codec.decode(text, workspace.root, workspace.skiplist_dir) == workspace


def test_the_cache_is_written_whole_for_this_user_only(root, monkeypatch):
    monkeypatch.chdir(root)
    load_workspace(root)
    found = cached_file(root)
    assert stat.S_IMODE(found.stat().st_mode) == 0o644
    header = json.loads(found.read_text().split("\n", 1)[0])
    assert header["format"] == cache.FORMAT and header["root"] == str(root)
    assert sorted(p.name for p in found.parent.iterdir()) == [
        "testmatrix-sessions.json",
        "testmatrix-workspace.json",
    ]  # no temporary file left


def _plant(root: Path, how: str) -> None:
    """Put something other than this user's own cache where the cache goes."""
    target = cached_file(root)
    good = target.read_text()
    target.unlink()
    if how == "writable by others":
        target.write_text(good)
        target.chmod(0o666)
    elif how == "a symbolic link":
        (root / "elsewhere.json").write_text(good)
        target.symlink_to(root / "elsewhere.json")
    elif how == "a FIFO":
        os.mkfifo(target)  # an open for reading would wait for a writer forever
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["writable by others", "a symbolic link", "a FIFO"])
def test_a_planted_cache_is_never_read(root, monkeypatch, fresh_loads, how):
    monkeypatch.chdir(root)
    first = load_workspace(root)
    _plant(root, how)
    assert load_workspace(root) == first
    assert len(fresh_loads) == 2  # read afresh, the planted file untouched
    assert not cached_file(root).is_file() or how != "a FIFO"


def test_a_cache_of_another_user_is_neither_read_nor_replaced(
    root, monkeypatch, fresh_loads
):
    monkeypatch.chdir(root)
    load_workspace(root)
    before = cached_file(root).read_bytes()
    monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 1)  # as another user
    load_workspace(root)
    assert len(fresh_loads) == 2
    assert cached_file(root).read_bytes() == before


def test_the_stamp_is_checked_before_the_body_is_decoded(
    root, monkeypatch, fresh_loads
):
    monkeypatch.chdir(root)
    load_workspace(root)
    found = cached_file(root)
    header, body = found.read_text().split("\n", 1)
    stale = json.dumps({**json.loads(header), "stamp": "other files"})
    found.write_text(stale + "\n" + body)

    def refuse(*args: object) -> None:
        raise AssertionError("decoded a body under a stale stamp")

    monkeypatch.setattr(codec, "decode", refuse)
    load_workspace(root)
    assert len(fresh_loads) == 2


@pytest.mark.parametrize(
    "body",
    [
        '[{"@": "PosixPath", "v": ["/etc"]}]',  # not one of the model's records
        '[{"py/object": "os.system", "args": ["echo pwned"]}]',  # untagged
        '{"suites": {}}',  # not a workspace's fields
        "\x80\x04\x95 a pickle",
    ],
)
def test_a_body_holding_anything_but_the_model_is_refused(
    root, monkeypatch, fresh_loads, body
):
    monkeypatch.chdir(root)
    first = load_workspace(root)
    found = cached_file(root)
    header = found.read_text().split("\n", 1)[0]
    found.write_text(header + "\n" + body)  # under the current stamp
    assert load_workspace(root) == first
    assert len(fresh_loads) == 2
    assert found.read_text().split("\n", 1)[1] == codec.encode(first)  # rewritten


def test_the_listing_and_the_workspace_share_one_stamp(root):
    load_workspace(root)
    skiplists = root / "skiplists"
    stamps = {
        json.loads(p.read_text().split("\n", 1)[0])["stamp"]
        for p in (skiplists / "__pycache__").glob("testmatrix-*.json")
    }
    assert stamps == {cache.stamp(skiplists, cache.read_files(skiplists))}
    assert listing.listing(skiplists) == listing.from_workspace(load_workspace(root))


def _rows_of(node: object) -> list[dict]:
    """Every rows object in a decoded-as-plain-JSON body."""
    if isinstance(node, dict):
        found = [node] if node.get("@") == "rows" else []
        return found + [r for v in node.values() for r in _rows_of(v)]
    if isinstance(node, list):
        return [r for v in node for r in _rows_of(v)]
    return []


def _spoil(rows: dict, how: str) -> None:
    kinds, first = rows["k"], rows["v"][0]
    if how == "unknown kind":
        rows["k"] = "X" + kinds[1:]
    elif how == "a short row":
        first.pop()
    elif how == "a line that is text":
        first[kinds.index("L")][1] = "12"
    elif how == "an object in a tuple field":
        first[kinds.index("T")] = [{"@": "date", "v": "2027-01-01"}]
    elif how == "a list in a scalar field":
        first[kinds.index("S")] = ["a"]
    elif how == "a class not of the model":
        rows["c"] = "PosixPath"
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "unknown kind",
        "a short row",
        "a line that is text",
        "an object in a tuple field",
        "a list in a scalar field",
        "a class not of the model",
    ],
)
def test_a_rows_object_is_checked_field_by_field(monkeypatch, how):
    # the repository's skiplists write their entries as rows of every kind
    monkeypatch.setenv("TESTMATRIX_NO_CACHE", "1")
    workspace = load_workspace(REPO)
    plain = json.loads(codec.encode(workspace))
    rows = _rows_of(plain)
    assert {"S", "L", "T", "-"} <= set("".join(r["k"] for r in rows))
    _spoil(rows[0], how)
    with pytest.raises(codec.Refused):
        codec.decode(json.dumps(plain), workspace.root, workspace.skiplist_dir)
