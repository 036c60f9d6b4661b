"""The site's static pages: the index (matrix, changes, trend, models), one page
per suite, the entries with their evidence, and every change."""

from __future__ import annotations

from collections.abc import Sequence

from ..results import reports
from .chart import trend_svg
from .data import CHANGE_KINDS, OUTCOMES, Change, DashboardData, verdict
from .entrypages import entries_in_order
from .markup import esc, link, page, table, td, td_markup, test_href

SHOWN_CHANGES = 50  # per kind on the index; changes.html has up to CHANGES_PAGE
CHANGES_PAGE = 300
SUITE_TESTS = 1000  # tests not passing listed on a suite's page
MODEL_STATUS = {":x:": "fail", ":white_check_mark:": "ok", ":no_entry_sign:": "skip"}


def suite_pages(data: DashboardData) -> dict[str, str]:
    """{suite: its page's file name}: by position, so no suite name (which may be
    anything) becomes a path."""
    return {suite: f"suite-{i}.html" for i, suite in enumerate(data.suites())}


def _label(outcome: str | None) -> str:
    return OUTCOMES[outcome][1] if outcome else "absent"


def matrix(data: DashboardData, expected: Sequence[tuple[str, str]] = ()) -> str:
    """The latest build's target x suite table, in `report`'s words and colours."""
    cells = data.cells[data.latest]
    wanted = set(expected)
    targets = sorted({t for t, _ in cells} | {t for t, _ in wanted})
    suites = sorted(set(data.suites()) | {s for _, s in wanted})
    pages = suite_pages(data)
    rows = []
    for suite in suites:
        name = link(pages[suite], suite) if suite in pages else esc(suite)
        row = [f'<th scope="row">{name}</th>']
        for target in targets:
            cell = cells.get((target, suite))
            if cell is not None:
                markup = (
                    link(pages[suite], cell.text) if suite in pages else esc(cell.text)
                )
                row.append(
                    td_markup(markup, f"cell {cell.status}", target=target, suite=suite)
                )
            elif (target, suite) in wanted:
                row.append(td("no summary", "cell warn", target=target, suite=suite))
            else:
                row.append(td("not run", "cell none", target=target, suite=suite))
        rows.append(row)
    used = {e for c in cells.values() for e in c.entries}
    note = f"<p>{len(cells)} sessions, {len(used)} skiplist entries used.</p>"
    return table(["suite", *targets], rows, "matrix", "matrix") + note


def models(data: DashboardData) -> str:
    """Which models ran on which target in the latest build (every suite)."""
    table_ = data.models[data.latest]
    if not table_:
        return "<p>No test named a model.</p>"
    targets = sorted({t for by in table_.values() for t in by} | set(data.targets()))
    rows = []
    for model, by_target in table_.items():
        row = [f"<th scope=row><code>{esc(model)}</code></th>"]
        for target in targets:
            words = reports._model_cell(by_target.get(target))  # report's own words
            icon, _, text = words.partition(" ")
            row.append(td(text or "-", f"cell {MODEL_STATUS.get(icon, 'none')}"))
        rows.append(row)
    return table(["model", *targets], rows, "matrix", "models-table")


def changes_tables(changes: list[Change], limit: int, more: str) -> str:
    """The changes grouped by kind, at most `limit` rows each (saying how many
    more there are and where `more` lists them all)."""
    out = []
    for kind, title in CHANGE_KINDS.items():
        rows_of = [c for c in changes if c.kind == kind]
        if not rows_of:
            continue
        out.append(f'<h3 id="change-{kind}">{esc(title)} ({len(rows_of)})</h3>')
        rows = [
            [
                td_markup(link(test_href(c.test), c.test), "test"),
                td(c.target),
                td(_label(c.before), f"o-{c.before or 'absent'}"),
                td(_label(c.after), f"o-{c.after or 'absent'}"),
                td(c.message or ""),
            ]
            for c in rows_of[:limit]
        ]
        out.append(
            table(["test", "target", "before", "now", "message"], rows, "changes")
        )
        if len(rows_of) > limit:
            out.append(
                f'<p class="more">and {len(rows_of) - limit} more: see '
                f"{link(more, more)}</p>"
            )
    return "\n".join(out) or "<p>Nothing changed.</p>"


def index(data: DashboardData, expected: Sequence[tuple[str, str]] = ()) -> str:
    latest = data.builds[data.latest]
    parts = [
        f"<p>{len(data.builds)} builds, {len(data.tests)} tests, "
        f"{len(data.targets())} targets, {len(data.suites())} suites. "
        f"{link('tests.html', 'Browse the tests')}.</p>",
        f'<h2 id="matrix-title">Build {esc(latest.id)}: targets and suites</h2>',
        matrix(data, expected),
        '<h2 id="changes">Changes since the previous build</h2>',
    ]
    if len(data.builds) < 2:
        parts.append("<p>Only one build: nothing to compare with.</p>")
    else:
        before = data.builds[data.latest - 1].id
        parts.append(f"<p>From build {esc(before)} to build {esc(latest.id)}.</p>")
        parts.append(changes_tables(data.changes(), SHOWN_CHANGES, "changes.html"))
    trend = data.trend()
    parts += [
        '<h2 id="trend">Failures and skips per target</h2><div class="charts">',
        _figure(trend_svg(trend, "failures", FAILURES, "trend-failures"), FAILURES),
        _figure(trend_svg(trend, "skips", SKIPS, "trend-skips"), SKIPS),
        "</div>",
        '<h2 id="models">Models: which ran on which target</h2>',
        models(data),
        '<h2 id="entries">Skiplist entries</h2>',
        _entries_summary(data),
    ]
    if data.notes:
        parts.append('<h2 id="notes">Not read</h2><ul class="notes">')
        parts += [f"<li>{esc(n)}</li>" for n in data.notes]
        parts.append("</ul>")
    return page("testmatrix dashboard", "\n".join(parts))


FAILURES = "Failures: failed, errors, passed against a stale entry, failed differently"
SKIPS = "Skips: skipped by an entry or by the test itself"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


SHOWN_ENTRIES = 20  # entries to look at, listed on the index


def _entries_summary(data: DashboardData) -> str:
    """How many entries the results cite, and those whose evidence says to act:
    stale (their tests passed) or failing differently."""
    evidence = data.evidence()
    act = []
    for n, (loc, _) in enumerate(entries_in_order(data)):
        said = verdict(evidence.get(loc, {}))
        if said.startswith(("stale", "fails")):
            act.append(f"<li>{link(f'entry-{n}.html', loc)}: {esc(said)}</li>")
    text = f"{len(data.entries)} entries cited, {len(act)} to look at"
    out = [
        f"<p>{esc(text)}: {link('entries.html', 'every entry and its evidence')}.</p>"
    ]
    if act:
        out.append('<ul id="entries-to-act">' + "".join(act[:SHOWN_ENTRIES]) + "</ul>")
        if len(act) > SHOWN_ENTRIES:
            out.append(f'<p class="more">and {len(act) - SHOWN_ENTRIES} more</p>')
    return "".join(out)


Outcomes = dict[str, str]  # target: outcome name


def not_passing(data: DashboardData) -> dict[str, list[tuple[str, Outcomes]]]:
    """{suite: [(test, its outcomes per target)]}: the tests of each suite that did
    not pass on some target in the latest build, sorted."""
    out: dict[str, dict[str, Outcomes]] = {}
    for test, by_target in data.tests.items():
        for target, results in by_target.items():
            r = results[data.latest]
            if r is not None:
                out.setdefault(r.suite, {}).setdefault(test, {})[target] = r.outcome
    return {
        suite: sorted(
            (t, o) for t, o in tests.items() if any(v != "passed" for v in o.values())
        )
        for suite, tests in out.items()
    }


def suite_page(
    data: DashboardData, suite: str, listed: list[tuple[str, Outcomes]]
) -> str:
    """A suite's cells in every build and its tests that did not pass lately."""
    targets = sorted({t for cells in data.cells for t, s in cells if s == suite})
    rows = []
    for i in range(data.latest, -1, -1):
        row = [f'<th scope="row">{esc(data.builds[i].id)}</th>']
        for target in targets:
            cell = data.cells[i].get((target, suite))
            if cell is None:
                row.append(td("not run", "cell none", target=target))
            else:
                row.append(td(cell.text, f"cell {cell.status}", target=target))
        rows.append(row)
    latest = data.latest
    test_rows = [
        [td_markup(link(test_href(test), test), "test")]
        + [
            td(
                _label(outcomes.get(t)) if t in outcomes else "-",
                f"o-{outcomes.get(t, 'absent')}",
            )
            for t in targets
        ]
        for test, outcomes in listed[:SUITE_TESTS]
    ]
    body = [
        f'<h2>Suite <span id="suite-name">{esc(suite)}</span>: every build</h2>',
        table(["build", *targets], rows, "matrix", "suite-builds"),
        f"<h2>Tests that did not simply pass in build {esc(data.builds[latest].id)} "
        f"({len(listed)}: failures, skips, expected failures)</h2>",
        table(["test", *targets], test_rows, "tests", "suite-tests")
        if test_rows
        else "<p>Every test of this suite passed.</p>",
    ]
    if len(listed) > SUITE_TESTS:
        body.append(
            f'<p class="more">and {len(listed) - SUITE_TESTS} more: '
            f"{link('tests.html', 'browse the tests')}</p>"
        )
    return page(f"suite {suite}", "\n".join(body))


def changes_page(data: DashboardData) -> str:
    if len(data.builds) < 2:
        body = "<p>Only one build: nothing to compare with.</p>"
    else:
        body = changes_tables(data.changes(), CHANGES_PAGE, "changes.json")
    return page("changes since the previous build", body)
