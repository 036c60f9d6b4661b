"""The site in a real headless Chromium (Debian's package, driven by Playwright),
opened from file://: three builds of the bundled suite run by pytest, the site and
the Markdown matrix written by the `testmatrix` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from selftest.dashboard.builds import PROBE, make_builds
from selftest.helpers import clean_env, run

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
FAILING = ("failed", "unexpected_pass", "fails_differently")
# one worker runs them all where loadgroup groups (pytest-xdist#1386); else the workers
# share the site (the built fixture) and each starts its Chromium
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three builds, their site (written by `testmatrix report --html`) and the
    latest build's Markdown matrix (by `testmatrix report`).

    Under pytest-xdist the workers share them, made by the first to ask, in this
    run's base folder (their own folders' parent), under a lock; the tests only read
    them."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_site(tmp_path_factory.mktemp("browser"))
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "dashboard-site"
    with FileLock(f"{root}.lock"):
        if not (root / "built").exists():
            shutil.rmtree(root, ignore_errors=True)  # a worker that failed midway
            root.mkdir()
            _build_site(root)
            (root / "built").touch()
    return _site_of(root)


def _build_site(root: Path) -> dict[str, Any]:
    builds = make_builds(root)
    site = root / "site"
    latest = [str(p) for p in sorted(builds[-1].rglob("summary*.json"))]
    command = [sys.executable, "-m", "testmatrix", "report", *latest]
    earlier = [a for b in builds[:-1] for a in ("--build", str(b))]
    ws = root / "ws"
    env = clean_env(
        PYTHONPATH=str(ws / "src")
    )  # the copy's testmatrix, installed or not
    label = builds[-1].name
    result = run(
        [*command, "--html", str(site), *earlier, "--build-label", label], ws, env
    )
    assert result.returncode == 0, result.output
    markdown = run(command, ws, env)
    assert markdown.returncode == 0, markdown.output
    (root / "matrix.md").write_text(markdown.stdout)
    assert sorted((root / "builds").iterdir()) == builds
    return _site_of(root)


def _site_of(root: Path) -> dict[str, Any]:
    return {
        "builds": sorted((root / "builds").iterdir()),
        "site": root / "site",
        "markdown": (root / "matrix.md").read_text(),
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.skip(
            "no Chromium at /usr/bin/chromium: apt-get install -y chromium "
            "chromium-driver"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A tab that records console errors, uncaught exceptions and dialogs; the
    test fails if any happened."""
    tab = browser.new_page()
    problems: list[str] = []
    tab.on(
        "console", lambda m: m.type in ("error", "warning") and problems.append(m.text)
    )
    tab.on("pageerror", lambda e: problems.append(str(e)))
    tab.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    yield tab
    tab.close()
    assert problems == []


def markdown_cells(markdown: str) -> dict[tuple[str, str], str]:
    """{(target, suite): cell text without its icon} from `report`'s table."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    targets = [c.strip() for c in lines[0].strip("|").split("|")][1:]
    cells = {}
    for line in lines[2:]:
        if line.startswith("| `") or line.startswith("| model"):
            break
        suite, *row = [c.strip() for c in line.strip("|").split("|")]
        for target, text in zip(targets, row, strict=True):
            cells[(target, suite)] = re.sub(r"^:[a-z_]+: ", "", text)
    return cells


def test_matrix_shows_the_numbers_of_the_markdown_report(built, page):
    page.goto((built["site"] / "index.html").as_uri())
    expected = markdown_cells(built["markdown"])
    assert len(expected) == 4  # cuda, rocm x language, pooling
    shown = {
        (cell.get_attribute("data-target"), cell.get_attribute("data-suite")): (
            cell.inner_text().strip()
        )
        for cell in page.locator("#matrix td.cell").all()
    }
    assert shown == expected
    sessions = re.search(
        r"\d+ sessions, \d+ skiplist entries used\.", built["markdown"]
    )
    assert sessions and sessions.group(0) in page.inner_text("main")
    stale = page.locator('#matrix td[data-target="rocm"][data-suite="language"]')
    assert "fail" in (stale.get_attribute("class") or "")


def test_navigating_to_a_suite_and_then_to_a_test(built, page):
    page.goto((built["site"] / "index.html").as_uri())
    page.click('#matrix th a:text-is("language")')
    assert page.inner_text("#suite-name") == "language"
    assert page.locator("#suite-builds tbody tr").count() == 3
    known = f"{PROBE}::test_known_bug"
    page.click(f'#suite-tests a:text-is("{known}")')
    page.wait_for_selector("body[data-ready]")
    assert page.inner_text("#test-title") == known
    strips = {
        row.get_attribute("data-target"): [
            o.get_attribute("data-outcome") for o in row.locator(".o").all()
        ]
        for row in page.locator("#test-strips tbody tr").all()
    }
    assert strips == {
        "cuda": ["failed", "failed", "passed"],
        "rocm": ["expected_fail", "expected_fail", "unexpected_pass"],
    }
    entry = page.locator("ul.details a").first
    entry.click()
    assert re.search(r"/entry-\d+\.html$", page.url)
    assert page.inner_text("#verdict").startswith("stale")


def test_trend_chart_has_a_point_per_build_and_target(built, page):
    page.goto((built["site"] / "index.html").as_uri())
    totals: dict[str, list[int]] = {}
    for build in built["builds"]:
        per_target: dict[str, int] = {}
        for path in build.rglob("summary*.json"):
            summary = json.loads(path.read_text())
            n = sum(summary["counts"][k] for k in FAILING)
            per_target[summary["target"]] = per_target.get(summary["target"], 0) + n
        for target, n in per_target.items():
            totals.setdefault(target, []).append(n)
    points = page.locator("svg#trend-failures circle.point")
    assert points.count() == 3 * 2  # builds x targets
    shown: dict[str, list[int]] = {}
    for point in points.all():
        box = point.bounding_box()
        assert box and box["width"] > 0  # drawn, not only in the DOM
        target = point.get_attribute("data-target")
        shown.setdefault(target, []).append(int(point.get_attribute("data-value")))
    assert shown == totals
    assert page.locator("svg#trend-failures polyline.series").count() == 2


def test_hostile_test_ids_open_as_text(built, page):
    hostile = f"{PROBE}::test_hostile_ids[<img src=x onerror=alert(1)>]"
    url = (built["site"] / "tests.html").as_uri() + "#test=" + quote(hostile, safe="")
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    assert page.inner_text("#test-title") == hostile
    assert page.locator("main img").count() == 0
    page.goto((built["site"] / "tests.html").as_uri() + "#file=" + quote(PROBE))
    page.wait_for_selector(f'body[data-ready="#file={quote(PROBE)}"]')
    # every test the builds ran, test_removed_in_build_3 included
    assert page.locator(".file-view tbody tr").count() == 6


def test_the_index_names_the_stale_entry_and_opens_its_evidence(built, page):
    page.goto((built["site"] / "index.html").as_uri())
    listed = page.locator("#entries-to-act li")
    assert listed.count() == 1  # the probe's entry; every bundled one holds
    assert listed.inner_text().endswith(": stale: its tests passed")
    listed.locator("a").click()
    evidence = {
        row.locator("th").inner_text(): [
            c.inner_text() for c in row.locator("td").all()
        ]
        for row in page.locator("#evidence tbody tr").all()
    }
    assert evidence == {
        "rocm": [
            "1 expected failure",
            "1 expected failure",
            "1 passed against a stale entry",
        ]
    }
