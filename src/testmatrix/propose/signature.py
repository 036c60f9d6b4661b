"""Error signatures: a failure's error type and its message with the parts that vary
from test to test (numbers, addresses, quoted names) taken out, and the safe
`fails.match` pattern that finds every message of one signature."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from testmatrix.core import errorpattern

# What varies between two failures of one cause, most specific first. Each becomes
# a pattern piece of the safe language (classes and `*`/`+` only, no groups).
_VARYING = re.compile(
    r"(?P<hex>0x[0-9a-fA-F]+)"
    r"|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<sq>'[^'\n]*')"
    r'|(?P<dq>"[^"\n]*")'
)
_PIECES = {
    "hex": "0x[0-9a-fA-F]+",
    "num": "[0-9.]+",
    "sq": "'[^']*'",
    "dq": '"[^"]*"',
}
_LABEL = {"hex": "<addr>", "num": "<n>", "sq": "'<name>'", "dq": '"<name>"'}
# the language's metacharacters: every other character stands for itself
_META = set(".^$*+?()[]{}|\\")
MAX_MATCH = 120  # characters of a proposed pattern (the language allows 200)


@dataclass(frozen=True, order=True)
class Signature:
    """One failure cause: the error's type and its message's template."""

    error: str
    template: str  # the message with varying parts as <n>, <addr>, '<name>'
    pattern: str  # the safe `fails.match` pattern of the template

    def words(self, limit: int = 100) -> str:
        """The template for a reason: cut at a word, not mid-word."""
        if len(self.template) <= limit:
            return self.template
        return self.template[:limit].rsplit(" ", 1)[0] + "..."


def message_of(error: str, text: str) -> str:
    """The exception's own message: the report's first line without its
    'ErrorType: ' lead, which `fails.match` does not see."""
    text = text.strip()
    for lead in (f"{error}: ", f"{error.rsplit('.', 1)[-1]}: "):
        if error and text.startswith(lead):
            return text[len(lead) :].strip()
    if error and text in (error, error.rsplit(".", 1)[-1]):
        return ""
    return text


def escape(text: str) -> str:
    """Literal text in the safe pattern language."""
    out = []
    for char in text:
        if char in _META:
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        else:
            out.append(char)
    return "".join(out)


# pytest's JUnit message of an error in a fixture: the error itself is quoted inside
_IN_FIXTURE = re.compile(r'^failed on (?:setup|teardown) with "(.*)"$', re.S)
_LEAD = re.compile(
    r"^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt))(?::|$)"
)


def signature_of(error: str, text: str) -> Signature:
    """The signature of one failure (error type and first message line)."""
    text = text.strip()
    wrapped = _IN_FIXTURE.match(text)
    if wrapped:
        text, error = wrapped.group(1), ""
    if not error:  # a report that gave no type: the message's lead names it
        lead = _LEAD.match(text)
        error = lead.group(1) if lead else ""
    message = message_of(error, text)
    template, pattern, at = [], [], 0
    for found in _VARYING.finditer(message):
        kind = found.lastgroup or "num"
        template.append(message[at : found.start()] + _LABEL[kind])
        pattern.append(escape(message[at : found.start()]))
        pattern.append(_PIECES[kind])
        at = found.end()
    template.append(message[at:])
    pattern.append(escape(message[at:]))
    return Signature(error or "Exception", "".join(template), _cut(pattern))


def _cut(pieces: list[str]) -> str:
    """The pattern's pieces up to MAX_MATCH characters, cut between pieces or at a
    space of a literal one, never inside an escape; leading and trailing pieces
    that vary are dropped (a search needs no `.*`)."""
    out = ""
    for piece in pieces:
        if len(out) + len(piece) <= MAX_MATCH:
            out += piece
            continue
        room = MAX_MATCH - len(out)
        if piece in _PIECES.values() or room <= 0:
            break
        head = piece[:room]
        if " " in head:
            head = head.rsplit(" ", 1)[0]
        while head.endswith("\\") and not head.endswith("\\\\"):
            head = head[:-1]
        out += head
        break
    out = out.strip()
    for varying in _PIECES.values():
        out = out.removesuffix(varying).strip()
    if errorpattern.check(out) is not None:  # never propose what the loader refuses
        return ""
    return out


MIN_SHARED = 24  # characters two templates must agree on to be one cause
_LABELS = re.compile(r"<addr>|<n>|'<name>'|\"<name>\"")
_LABEL_PIECE = {label: _PIECES[kind] for kind, label in _LABEL.items()}


def pattern_of_template(template: str) -> str:
    """The safe pattern of a template (its labels as the pieces they stand for)."""
    pieces, at = [], 0
    for found in _LABELS.finditer(template):
        pieces.append(escape(template[at : found.start()]))
        pieces.append(_LABEL_PIECE[found.group()])
        at = found.end()
    pieces.append(escape(template[at:]))
    return _cut(pieces)


def _shared(a: str, b: str) -> str:
    """The words two templates start with alike."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    if n == len(a) == len(b):
        return a
    return a[:n].rsplit(" ", 1)[0] if " " in a[:n] else ""


def merge_similar(signatures: Iterable[Signature]) -> dict[Signature, Signature]:
    """Each signature to the one its failures are grouped under. Signatures of one
    error whose templates start with the same MIN_SHARED characters or more (cut at
    a word) are one cause whose message names a varying thing unquoted (a model, a
    backend class): grouped under that shared start."""
    clusters: list[tuple[str, str, list[Signature]]] = []  # error, shared, members
    for sig in sorted(set(signatures)):
        for n, (error, shared, members) in enumerate(clusters):
            common_start = _shared(shared, sig.template) if error == sig.error else ""
            if len(common_start) >= MIN_SHARED:
                clusters[n] = (error, common_start, [*members, sig])
                break
        else:
            clusters.append((sig.error, sig.template, [sig]))
    out: dict[Signature, Signature] = {}
    for error, shared, members in clusters:
        if len(members) == 1:
            out[members[0]] = members[0]
            continue
        merged = Signature(error, shared.rstrip() + " ...", pattern_of_template(shared))
        for sig in members:
            out[sig] = merged
    return out
