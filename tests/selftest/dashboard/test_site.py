"""The written site: hostile strings stay text, data files stay data, the folder
is written only where testmatrix may, and `report --html` wires it up."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from testmatrix import cli, errors
from testmatrix.dashboard import from_summaries, write_site
from testmatrix.dashboard.data import Build, Cell, DashboardData, Entry, Result
from testmatrix.dashboard.site import MARKER
from testmatrix.dashboard.viewer import fnv1a

# the builds conftest.tiny_builds makes once per worker: one worker for all (-n 2)
pytestmark = pytest.mark.xdist_group("dashboard-builds")

HOSTILE = "\"><script>alert(1)</script><img src=x onerror=alert(2)>|\nx'y"


class Elements(HTMLParser):
    """Every start tag and its attributes, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_inert(site: Path) -> None:
    """No page runs or loads anything but the site's own script and stylesheet."""
    for page in site.glob("*.html"):
        parser = Elements()
        parser.feed(page.read_text())
        for tag, attrs in parser.tags:
            assert tag not in ("img", "iframe", "object", "b"), (page.name, tag)
            assert not [a for a in attrs if a.startswith("on")], (page.name, tag)
            if tag == "script":
                assert attrs == {"src": "assets/app.js"}, page.name
            href = attrs.get("href") or ""
            assert not href.lower().startswith("javascript:"), page.name
    for data in (site / "data").glob("*.js"):
        text = data.read_text()
        assert text.startswith("tmLoad(") and text.endswith(");\n")
        json.loads("[" + text[len("tmLoad(") : -len(");\n")] + "]")  # data only


def hostile_data() -> DashboardData:
    cell = Cell(HOSTILE, HOSTILE, {"passed": 1, "failed": 1}, 1, "fail", HOSTILE)
    result = Result("failed", HOSTILE, HOSTILE, HOSTILE)
    return DashboardData(
        builds=[Build(HOSTILE), Build("2")],
        cells=[{(HOSTILE, HOSTILE): cell}, {(HOSTILE, HOSTILE): cell}],
        tests={f"{HOSTILE}::t[{HOSTILE}]": {HOSTILE: [Result("passed", "s"), result]}},
        entries={HOSTILE: Entry(HOSTILE, HOSTILE, HOSTILE, "javascript:alert(3)")},
        models=[{}, {HOSTILE: {HOSTILE: {"failed": 1}}}],
        notes=[HOSTILE],
    )


def test_hostile_strings_everywhere_stay_text(tmp_path):
    site = tmp_path / "site"
    write_site(hostile_data(), site)
    assert_inert(site)
    index = (site / "index.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    entries = (site / "entries.html").read_text()
    assert "javascript:alert(3)" in entries  # shown as text, never as a link
    assert 'href="javascript' not in entries


def test_hostile_ids_and_reasons_of_real_runs_stay_text(tmp_path, tiny_builds):
    site = tmp_path / "site"
    write_site(from_summaries(tiny_builds(3)), site)
    assert_inert(site)
    entries = (site / "entries.html").read_text()
    assert (
        "&lt;b&gt;known&lt;/b&gt; | &quot;bug&quot; &lt;/td&gt;&lt;script&gt;"
        in entries
    )
    index = (site / "index.html").read_text()
    assert "tests.html#test=tests%2Funit%2Ftest_probe.py%3A%3Atest_known_bug" in index


def test_every_page_forbids_inline_code_and_outside_resources(tmp_path):
    site = tmp_path / "site"
    write_site(hostile_data(), site)
    for page in site.glob("*.html"):
        csp = [
            a
            for t, a in _tags(page)
            if a.get("http-equiv") == "Content-Security-Policy"
        ]
        assert csp, page.name
        policy = csp[0]["content"] or ""
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        for _, attrs in _tags(page):
            for name in ("src", "href"):
                assert not (attrs.get(name) or "").startswith(("http:", "//")), (
                    page.name
                )


def _tags(page: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(page.read_text())
    return parser.tags


def test_each_test_sits_in_the_shard_its_file_hashes_to(tmp_path, tiny_builds):
    site = tmp_path / "site"
    data = from_summaries(tiny_builds(2))
    write_site(data, site)
    assert fnv1a("a") == 0xE40C292C  # the published FNV-1a test vector
    manifest = _payload(site / "data/manifest.js")
    shards = manifest["shards"]
    seen = {}
    for n in range(shards):
        for test in _payload(site / f"data/shard-{n}.js"):
            seen[test] = n
    assert seen == {t: fnv1a(t.split("::")[0]) % shards for t in data.tests}


def _payload(path: Path) -> dict:
    text = path.read_text()
    return json.loads("[" + text[len("tmLoad(") : -len(");\n")] + "]")[2]


def test_a_folder_testmatrix_did_not_write_is_refused_without_force(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "mine.txt").write_text("keep")
    with pytest.raises(errors.TestmatrixError, match=f"not empty.*no {MARKER}"):
        write_site(hostile_data(), site)
    assert sorted(p.name for p in site.iterdir()) == ["mine.txt"]
    write_site(hostile_data(), site, force=True)
    assert (site / "mine.txt").read_text() == "keep"
    assert (site / MARKER).is_file()


def test_rewriting_removes_only_what_the_last_dashboard_wrote(tmp_path, tiny_builds):
    site = tmp_path / "site"
    write_site(hostile_data(), site)  # one suite page: suite-0.html
    (site / "mine.txt").write_text("keep")
    marker = json.loads((site / MARKER).read_text())
    marker["files"] += ["../outside.txt", "/etc/hostname"]  # forged: ignored
    (tmp_path / "outside.txt").write_text("keep")
    (site / MARKER).write_text(json.dumps(marker))
    data = from_summaries(tiny_builds(1))
    written = write_site(data, site)
    assert set(written) <= {p.relative_to(site).as_posix() for p in site.rglob("*")}
    assert (site / "mine.txt").exists() and (tmp_path / "outside.txt").exists()
    assert "suite-0.html" in written  # suite 'unit' now
    old_shards = {f for f in marker["files"] if f.startswith("data/shard-")}
    for gone in old_shards - set(written):
        assert not (site / gone).exists()


def test_report_html_writes_the_site_and_refuses_a_foreign_folder(
    tmp_path, tiny_builds, capsys
):
    first, second = tiny_builds(2)
    site = tmp_path / "site"
    summaries = [str(p) for p in sorted(second.rglob("summary*.json"))]
    argv = ["report", *summaries, "--html", str(site), "--build", str(first)]
    assert cli.main([*argv, "--build-label", "102"]) == 0
    assert f"wrote {site / 'index.html'}" in capsys.readouterr().out
    manifest = _payload(site / "data/manifest.js")
    assert [b["id"] for b in manifest["builds"]] == ["101", "102"]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x").write_text("")
    assert cli.main(["report", *summaries, "--html", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert sorted(p.name for p in foreign.iterdir()) == ["x"]


def test_a_missing_earlier_build_is_one_line_and_nothing_is_written(
    tmp_path, tiny_builds, capsys
):
    (build,) = tiny_builds(1)
    site = tmp_path / "site"
    summaries = [str(p) for p in sorted(build.rglob("summary*.json"))]
    argv = ["report", *summaries, "--html", str(site), "--build", str(tmp_path / "no")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert (
        err == f"testmatrix: error: {tmp_path / 'no'}: no such build folder (--build)\n"
    )
    assert not site.exists()
    assert cli.main(["report", *summaries, "--build", str(build)]) == 2
    assert "--build without --html DIR" in capsys.readouterr().err
