"""What the reader finds: one in-code skip (or GPU need) and the tests it covers."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# kinds of findings, as `testmatrix inventory` names them
SKIPIF, XFAIL, SKIP_CALL, XFAIL_CALL = "skipif", "xfail", "skip-call", "xfail-call"
PYTESTMARK, GPU_NEED = "pytestmark", "gpu-need"
# scopes: what the finding is attached to
HELPER = "helper"  # a module function (not a test) whose callers it skips
FUNCTION, CLASS, MODULE, PARAM, FIXTURE = (
    "function",
    "class",
    "module",
    "param",
    "fixture",
)
UNKNOWN_ID = "?"  # a pytest.param whose id the reader cannot compute


@dataclass(frozen=True)
class InCodeSkip:
    """One skip, xfail or GPU need written in a test file.

    `covers` is the test it applies to as a node id suffix ('test_x', 'TestA::test_b',
    'TestA', '' for the module; a fixture's name for a fixture); `param` the id of
    the one parameter set it marks. `condition` is the condition's source with
    module-level names resolved; GPU marks read as '__gpus__ < N'."""

    path: str  # workspace-relative, posix
    line: int
    col: int  # where the removable node starts (migrate finds it there)
    end_line: int
    kind: str
    scope: str
    covers: str
    condition: str
    written: str  # the source as written (one line of it)
    reason: str
    gpus: int | None = None
    param: str | None = None
    autouse: bool = False  # a fixture every test of its scope uses
    xfail: bool = False  # an expected failure: the test still runs

    @property
    def skips(self) -> bool:
        return not self.xfail

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FileInventory:
    """One file's findings, the argument names of each test (fixtures it uses), or
    why the file could not be read."""

    path: str
    skips: tuple[InCodeSkip, ...] = ()
    tests: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (qualname, arg names)
    error: str | None = None
