"""Errors users see: one line each, naming the file and line at fault."""

from __future__ import annotations

from collections.abc import Collection, Iterable


class Problem:
    """One thing wrong with the input, located: a value, compared and hashed by its
    fields. (Not a frozen dataclass: that compiles six methods at import, 1.5 ms of
    every pytest start-up that loads the plugin, for an error most runs never make.)"""

    __slots__ = ("file", "line", "message")
    __match_args__ = ("file", "line", "message")

    file: str
    line: int | None
    message: str

    def __init__(self, file: str, line: int | None, message: str) -> None:
        set_field = object.__setattr__  # frozen: no assignment after this
        set_field(self, "file", file)
        set_field(self, "line", line)
        set_field(self, "message", message)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _fields(self) -> tuple[str, int | None, str]:
        return (self.file, self.line, self.message)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Problem)
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Problem(file={self.file!r}, line={self.line!r}, message={self.message!r})"
        )

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
