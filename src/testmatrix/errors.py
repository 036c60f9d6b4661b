"""Errors users see: one line each, naming the file and line at fault."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class TestmatrixError(Exception):
    """Bad input: the message is ready to print, one problem per line."""


class ConfigError(TestmatrixError):
    """The skiplists are invalid; `problems` lists every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(TestmatrixError):
    """A command line names something that does not exist."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a close choice exists, else ''."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# Collection, not Iterable: the message reads the choices twice.
def unknown(kind: str, word: str, choices: Collection[str]) -> str:
    """The standard message for a name that is not declared."""
    known = ", ".join(sorted(choices)) or "none"
    return f"unknown {kind} '{word}'{did_you_mean(word, choices)}; known: {known}"
