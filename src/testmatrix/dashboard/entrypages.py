"""The entries' pages: one table of every entry cited with its verdict, and a page
per entry with its evidence (its tests' outcomes per target and build)."""

from __future__ import annotations

from .data import OUTCOMES, DashboardData, Entry, verdict
from .markup import esc, issue_link, link, page, table, td, td_markup, test_href

ENTRY_TESTS = 200  # tests listed on an entry's page (the viewer has every one)
Evidence = dict[str, list[dict[str, int]]]


def entry_pages(data: DashboardData) -> dict[str, str]:
    """{file name: page}: entries.html, and entry-N.html for each entry (by its
    position, so no location becomes a path)."""
    evidence = data.evidence()
    tests_of: dict[str, list[tuple[str, str, str]]] = {}
    for test, by_target in sorted(data.tests.items()):
        for target, results in by_target.items():
            r = results[data.latest]
            if r is not None and r.entry:
                tests_of.setdefault(r.entry, []).append((test, target, r.outcome))
    rows = []
    out = {}
    for n, (loc, entry) in enumerate(entries_in_order(data)):
        name = f"entry-{n}.html"
        rows_of = evidence.get(loc, {})
        said = verdict(rows_of)
        latest = {t: per_build[-1] for t, per_build in rows_of.items() if per_build[-1]}
        rows.append(
            [
                td_markup(link(name, loc), "loc"),
                td(entry.kind),
                td_markup(f"{esc(entry.reason)} {issue_link(entry.issue)}"),
                td(said, "cell fail" if said.startswith(("stale", "fails")) else ""),
                td("; ".join(f"{t}: {_counts(c)}" for t, c in latest.items()) or "-"),
            ]
        )
        out[name] = _entry_page(data, entry, rows_of, tests_of.get(loc, []))
    head = ["entry", "kind", "reason and issue", "verdict", "latest build"]
    body = table(head, rows, "entries", "entries") if rows else "<p>No entry.</p>"
    out["entries.html"] = page("skiplist entries and their evidence", body)
    return out


def location_order(location: str) -> tuple[str, int, str]:
    """rocm.toml:9 before rocm.toml:10: by file, then line number."""
    file, _, line = location.rpartition(":")
    return (file, int(line), "") if line.isdigit() else (location, 0, location)


def entries_in_order(data: DashboardData) -> list[tuple[str, Entry]]:
    """The entries in the order of their pages (entry-N.html)."""
    return sorted(data.entries.items(), key=lambda item: location_order(item[0]))


def _entry_page(
    data: DashboardData,
    entry: Entry,
    rows_of: Evidence,
    tests: list[tuple[str, str, str]],
) -> str:
    out = [
        f'<p><span class="kind">{esc(entry.kind)}</span> {esc(entry.reason)} '
        f"{issue_link(entry.issue)}</p>",
        f'<p class="verdict" id="verdict">{esc(verdict(rows_of))}</p>',
        "<h2>Its tests' outcomes per target and build</h2>",
    ]
    rows = [
        [f'<th scope="row">{esc(target)}</th>']
        + [td(_counts(c), _status(c)) for c in per_build]
        for target, per_build in rows_of.items()
    ]
    head = ["target", *(b.id for b in data.builds)]
    if rows:
        out.append(table(head, rows, "evidence", "evidence"))
    else:
        out.append("<p>No test result cites it (an ignored path, or unused).</p>")
    if tests:
        latest = data.builds[data.latest].id
        out.append(f"<h2>Its tests in build {esc(latest)} ({len(tests)})</h2><ul>")
        out += [
            f"<li>{link(test_href(t), t)} on {esc(target)}: {esc(OUTCOMES[o][1])}</li>"
            for t, target, o in tests[:ENTRY_TESTS]
        ]
        if len(tests) > ENTRY_TESTS:
            out.append(f"<li>and {len(tests) - ENTRY_TESTS} more</li>")
        out.append("</ul>")
    return page(f"entry {entry.location}", "\n".join(out))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {OUTCOMES[k][1]}" for k, n in sorted(counts.items())) or "-"


def _status(counts: dict[str, int]) -> str:
    if counts.get("unexpected_pass") or counts.get("fails_differently"):
        return "cell fail"
    return "cell ok" if counts else "cell none"
