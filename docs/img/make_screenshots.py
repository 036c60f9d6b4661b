"""The dashboard screenshots of docs/dashboard.md: three builds of the bundled suite
(the browser test's probe builds), their site, and its pages in headless Chromium.

Usage (from the repository root): python docs/img/make_screenshots.py [WORKDIR]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]

from selftest.dashboard.builds import PROBE, make_builds  # noqa: E402

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SHOTS = {
    "dashboard-index.png": ("index.html", None, True),
    "dashboard-suite.png": ("suite-0.html", None, True),
    "dashboard-entries.png": ("entries.html", None, False),
    "dashboard-entry.png": ("entry-12.html", None, False),  # the probe's stale one
    "dashboard-test.png": (
        "tests.html#test=" + quote(f"{PROBE}::test_known_bug", safe=""),
        "body[data-ready]",
        False,
    ),
}


def main() -> int:
    from playwright.sync_api import sync_playwright

    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    builds = make_builds(work)
    site = work / "site"
    latest = [str(p) for p in sorted(builds[-1].rglob("summary*.json"))]
    earlier = [a for b in builds[:-1] for a in ("--build", str(b))]
    subprocess.run(
        [sys.executable, "-m", "testmatrix", "report", *latest, "--html", str(site)]
        + [*earlier, "--build-label", builds[-1].name, "--force"],
        check=True,
        env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"},
    )
    out = Path(__file__).resolve().parent
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=FLAGS
        )
        tab = browser.new_page(viewport={"width": 1200, "height": 800})
        for name, (path, ready, full) in SHOTS.items():
            tab.goto("about:blank")
            tab.goto((site / "index.html").as_uri().replace("index.html", path))
            if ready:
                tab.wait_for_selector(ready)
            tab.screenshot(path=str(out / name), full_page=full)
            print(f"wrote {out / name}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
