"""The pytest options of testmatrix, named once.

Every option has a prefixed long form, `--testmatrix-NAME`, that always exists: it is
what sessions, Buildkite steps, audit and explain pass, so their commands work beside
any other plugin. The plugin's own name is the prefix, as the environment variables'
(`TESTMATRIX_PLATFORM`) and the option destinations' (`testmatrix_platform`) are, so
one word finds all three. The short form (`--platform`) is an alias that the plugin
registers only where no other plugin owns the name: vLLM's test image installs
pytest-shard, which owns `--shard-id` and `--num-shards`.
"""

from __future__ import annotations

PREFIX = "--testmatrix-"


class Option:
    """One of testmatrix's pytest options, by its name without the prefix. (A plain
    class, not a record: every pytest run that loads the plugin makes these, and
    most of them nothing else.)"""

    __slots__ = ("name",)

    name: str  # "platform"

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "name", name)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {key!r}")  # frozen, as before

    def __repr__(self) -> str:
        return f"Option(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Option)
        return self.name == other.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def long(self) -> str:
        """The form that always exists: --testmatrix-platform."""
        return PREFIX + self.name

    @property
    def short(self) -> str:
        """The alias kept where free: --platform."""
        return "--" + self.name

    @property
    def dest(self) -> str:
        return "testmatrix_" + self.name.replace("-", "_")

    def flag(self, value: object) -> str:
        """`--testmatrix-platform=rocm`."""
        return f"{self.long}={value}"

    def names(self) -> tuple[str, str]:
        return (self.long, self.short)


PLATFORM = Option("platform")
VARIANT = Option("variant")
SUITE = Option("suite")
RUN = Option("run")  # which pytest run of a suite that is a CI job
STRICT = Option("strict-platform")
NO_SKIPLIST = Option("no-skiplist")
SKIPLISTS = Option("skiplists")
SHARD_ID = Option("shard-id")
NUM_SHARDS = Option("num-shards")
DURATIONS = Option("shard-durations")
SUMMARY = Option("summary-json")
OPTIONS = (
    PLATFORM,
    VARIANT,
    SUITE,
    RUN,
    STRICT,
    NO_SKIPLIST,
    SKIPLISTS,
    SHARD_ID,
    NUM_SHARDS,
    DURATIONS,
    SUMMARY,
)
# either form of an option, to the option
BY_NAME = {name: option for option in OPTIONS for name in option.names()}


def canonical(flag: str) -> str:
    """The prefixed form of one of our option names (either form); other flags as
    they are."""
    option = BY_NAME.get(flag)
    return option.long if option is not None else flag


def split(arg: str) -> tuple[str, str | None]:
    """('--testmatrix-platform', 'rocm') from '--platform=rocm' (either form, with or
    without a value); ('-x', None) for any other argument."""
    name, eq, value = arg.partition("=")
    return canonical(name), (value if eq else None)
