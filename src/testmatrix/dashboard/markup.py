"""HTML building blocks: escaping, safe links and the page skeleton with its
Content-Security-Policy. Every string from a summary or a JUnit file passes
through `esc` (or `attr`) before it is written into a page."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

# Only files of the site itself; no inline script or style, no network: a hostile
# string that slipped through escaping could still run nothing.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'"
)
NAV = (
    ("index.html", "Matrix"),
    ("index.html#changes", "Changes"),
    ("index.html#trend", "Trend"),
    ("index.html#models", "Models"),
    ("entries.html", "Entries"),
    ("tests.html", "Tests"),
)


def esc(text: object) -> str:
    """Text for an element's content or a quoted attribute value."""
    return escape(str(text), quote=True)


def link(href: str, text: str, cls: str = "") -> str:
    """<a>: `href` is built by the site (never taken from the input whole)."""
    klass = f' class="{esc(cls)}"' if cls else ""
    return f'<a href="{esc(href)}"{klass}>{esc(text)}</a>'


def test_href(test: str) -> str:
    """The test viewer's address of a test (its id percent-encoded whole)."""
    return "tests.html#test=" + quote(test, safe="")


def issue_link(issue: str | None) -> str:
    """An entry's issue: a link only for http(s) addresses (never javascript:)."""
    if not issue:
        return ""
    if issue.startswith(("https://", "http://")):
        rel = "noopener noreferrer nofollow"
        return f'<a href="{esc(issue)}" rel="{rel}">{esc(issue)}</a>'
    return esc(issue)


def page(title: str, body: str, *, script: bool = False, root: str = "") -> str:
    """A whole page: `body` is already markup. `script` adds the viewer's code."""
    nav = " ".join(link(root + href, text) for href, text in NAV)
    js = f'<script src="{root}assets/app.js"></script>' if script else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n"
        f'<link rel="stylesheet" href="{root}assets/style.css">\n'
        f"</head><body><header><nav>{nav}</nav><h1>{esc(title)}</h1></header>\n"
        f"<main>\n{body}\n</main>{js}</body></html>\n"
    )


def table(head: list[str], rows: list[list[str]], cls: str = "", id_: str = "") -> str:
    """A table: `head` is plain text, each row's cells are markup (a <td> each)."""
    attrs = (f' class="{esc(cls)}"' if cls else "") + (
        f' id="{esc(id_)}"' if id_ else ""
    )
    out = [f"<table{attrs}><thead><tr>"]
    out += [f"<th>{esc(h)}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def td(text: str, cls: str = "", **data: str) -> str:
    """A cell of plain text (escaped here), with a class and data-* attributes."""
    return td_markup(esc(text), cls, **data)


def td_markup(markup: str, cls: str = "", **data: str) -> str:
    attrs = f' class="{esc(cls)}"' if cls else ""
    attrs += "".join(f' data-{k}="{esc(v)}"' for k, v in data.items())
    return f"<td{attrs}>{markup}</td>"
