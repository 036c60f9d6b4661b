"""The session listing `nox -l` shows without loading the workspace (sessionlist):
the same sessions as the plan, in the same order, or None; never a wrong one.
Fast: files in tmp_path, no subprocess."""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path

import pytest

from selftest.config.test_schema import BAD, BASE
from selftest.helpers import REPO, write
from testmatrix.config import cache, listing, schema, tomlpos
from testmatrix.config.loader import load_workspace
from testmatrix.core.session import sessions
from testmatrix.errors import ConfigError
from testmatrix.nox import sessions as noxsessions

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# A workspace with what names sessions in every form: variants (one declared after
# the entries), suites restricted to a platform and to a variant, defaults.
GENERATED = {
    "skiplists/suites.toml": """
        [workspace]
        install = ["."]

        [suites.unit]
        path = "tests/unit"

        [suites.gpu-only]
        paths = ["tests/gpu"]
        platforms = ["rocm", "cuda:h100"]
        platforms_reason = "needs a GPU"

        [suites.mi355-only]
        path = "tests/gpu"
        description = "MI355 kernels"
        platforms = ["rocm:mi355"]
        platforms_reason = "gfx950 only"
    """,
    "skiplists/models.toml": '[model_lists.enc]\nmodels = ["org/enc"]\n',
    "skiplists/platforms/rocm.toml": """
        [platform]
        description = "AMD GPUs"
        hardware = "rocm"
        buildkite = { queue = "amd" }

        [variants.mi300]
        description = "MI300X"
        match = ["gfx942"]

        [[ignore]]
        suite = "unit"
        path = "test_a.py"
        reason = "r"

        [variants.mi355]
        match = ["gfx950"]
        [variants.mi355.buildkite]
        agents = { pool = "mi355_{gpus}" }
    """,
    "skiplists/platforms/cuda.toml": """
        [platform]
        hardware = "cuda"

        [variants.h100]
        match = ["H100"]
    """,
    "skiplists/platforms/cpu.toml": "",
    "tests/unit/test_a.py": "def test_a():\n    pass\n",
    "tests/gpu/test_g.py": "def test_g():\n    pass\n",
}


def plan_listing(root: Path) -> list[tuple[str, list[str], str]]:
    """What the plan gives from the full, validated load: each session's name, tags
    and docstring, in order (the docstring as nox sessions always wrote it)."""
    workspace = load_workspace(root)
    out = []
    for name, key in sessions(workspace).items():
        platform = workspace.platforms[key.platform]
        on = platform.description
        tags = [key.platform, key.suite]
        if key.variant is not None:
            on = platform.variants[key.variant].description
            tags.insert(1, f"{key.platform}-{key.variant}")
        doc = f"Run suite {key.suite} as {key.target} CI does: {on}."
        out.append((name, tags, doc))
    return out


def shown(listing: list[listing.Listed] | None) -> list[tuple]:
    assert listing is not None
    return [(s.name, s.tags, s.doc) for s in listing]


def cold(root: Path) -> list[listing.Listed] | None:
    skiplists = root / "skiplists"
    files = listing.read_files(skiplists)
    assert files is not None
    return listing.read_listing(skiplists, files)


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    root = tmp_path / "generated"
    write(root, GENERATED)
    return root


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any listing from here on comes from the cache."""

    def fail(*args: object) -> None:
        raise AssertionError("listed afresh, not from the cache")

    monkeypatch.setattr(listing, "read_listing", fail)


@pytest.mark.parametrize("where", ["bundled", "gpu-lease", "generated"])
def test_the_listing_is_the_plans_cold_and_warm(where, generated, tmp_path, request):
    root = {"bundled": REPO, "gpu-lease": REPO / "examples/gpu-lease"}.get(
        where, generated
    )
    expected = plan_listing(root)
    assert shown(cold(root)) == expected
    assert shown(listing.from_workspace(load_workspace(root))) == expected
    # warm: from the cache the first listing wrote (in a copy: not this checkout's)
    copy = tmp_path / "copy" / "skiplists"
    shutil.copytree(root / "skiplists", copy, ignore=shutil.ignore_patterns("__py*"))
    assert shown(listing.listing(copy)) == expected
    request.getfixturevalue("no_scan")
    assert shown(listing.listing(copy)) == expected


def test_generated_workspace_names_every_form(generated):
    names = [name for name, _, _ in plan_listing(generated)]
    assert names == [
        "cpu-unit",
        "cuda-unit",
        "cuda-h100-unit",
        "cuda-h100-gpu-only",
        "rocm-unit",
        "rocm-gpu-only",
        "rocm-mi300-unit",
        "rocm-mi300-gpu-only",
        "rocm-mi355-unit",
        "rocm-mi355-gpu-only",
        "rocm-mi355-mi355-only",
    ]


# -- the header scan: tricky platform files --------------------------------------------

HEAD = '[platform]\ndescription = "AMD GPUs"\n'
ENTRY = '[[ignore]]\nsuite = "unit"\npath = "test_a.py"\nreason = {}\n'
MI300 = '[variants.mi300]\ndescription = "MI300X"\n'
LISTED, UNSURE = "listed", "unsure"
HEAD_TABLES = ("platform", "variants")

TRICKY = {
    # (rocm.toml, what the listing must give: LISTED, the whole file's own listing,
    # or UNSURE, None)
    "plain": (HEAD + MI300 + ENTRY.format('"r"'), LISTED),
    "header-like lines in a multi-line basic string": (
        HEAD + ENTRY.format('"""\n[variants.fake]\n  [[ignore]]\n[platform]\n"""'),
        LISTED,
    ),
    "header-like lines in a multi-line literal string": (
        HEAD + ENTRY.format("'''\n[variants.fake]\n'''") + MI300,
        LISTED,
    ),
    "quotes at the end of multi-line strings": (
        HEAD
        + ENTRY.format('"""a""""\nissue_note = """b\\"""\n[variants.fake]\n"""')
        + "[[skip]]\nreason = '''x''''\nnote = '''\n[variants.fake2]'''\n"
        + MI300,
        LISTED,
    ),
    "a header in a string in an array": (
        HEAD
        + ENTRY.format('"r"\ntags = [\n  """\n[variants.fake]""",\n  "[x]",\n]')
        + MI300,
        LISTED,
    ),
    "a header-like line in a multi-line description": (
        '[variants.mi300]\ndescription = """MI300\n[variants.fake]\n"""\n',
        LISTED,
    ),
    "other strings' quotes before real headers": (
        HEAD
        + ENTRY.format(r""""it's """ + "'''" + r''' and \\"''')
        + 'note = \'"""\'\nempty = ""\n'
        + "# a comment's \"\"\" and '''\n"
        + "where = 'C:\\dir\\'\n"
        + MI300,
        LISTED,
    ),
    "indented headers and an array of inline tables": (
        HEAD
        + "  [platform.buildkite]\n\tretry_rules = [\n  { exit_status = -1 },\n]\n"
        + '\t[variants.mi300]\nmatch = ["]", "[x]"]\n',
        LISTED,
    ),
    "entries' own variants and sub-tables": (
        HEAD
        + ENTRY.format('"r"\nvariants = ["mi300"]')
        + '[ignore.fails]\nerror = "E"\n'
        + MI300,
        LISTED,
    ),
    "the platform declared twice": (HEAD + ENTRY.format('"r"') + HEAD, UNSURE),
    "a header-like item of an array of arrays": (
        HEAD + ENTRY.format('"r"\nmatrix = [\n  ["variants"],\n  [ "platform" ]\n]'),
        LISTED,  # the scan tokenizes arrays: an item is never a header
    ),
    "header-like comments and comments after headers": (
        "# [variants.fake]\n[platform] # the platform\n"
        + '  # [variants.fake2]\n[variants.mi300]   # gfx942\ndescription = "M"\n',
        LISTED,
    ),
    "hash and brackets in strings": (
        HEAD + ENTRY.format('"a # b ] [ { \\" }"') + MI300,
        LISTED,
    ),
    "quoted and spaced header keys": (
        HEAD + "[ \"variants\" . 'mi300' ]\n" + '[variants."mi355"]\nmatch = ["x"]\n',
        LISTED,
    ),
    "an escape in a quoted header key": (
        HEAD + '["vari\\u0061nts".mi300]\n',
        UNSURE,
    ),
    "dotted keys and inline tables before the first header": (
        'platform.description = "AMD"\nvariants = { mi300 = { description = "M" } }\n'
        + ENTRY.format('"r"'),
        LISTED,
    ),
    "dotted keys in a [variants] table": (
        '[variants]\nmi300.description = "M"\nmi355 = { match = ["gfx950"] }\n',
        LISTED,
    ),
    "sub-tables of the platform and a variant": (
        HEAD
        + '[platform.buildkite]\nqueue = "amd"\nagents = { pool = "{gpus}" }\n'
        + MI300
        + "[variants.mi300.buildkite]\nretry = 2\n",
        LISTED,
    ),
    "a [variants] table after [[ignore]] blocks": (
        HEAD + ENTRY.format('"r"') * 3 + MI300 + ENTRY.format('"s"'),
        LISTED,
    ),
    "multi-line arrays and nested inline tables": (
        HEAD
        + ENTRY.format(
            '"r"\npaths = [\n  "a.py",  # a comment ]\n  "b.py",\n]\n'
            'fails = { error = "E", match = "x" }'
        )
        + MI300,
        LISTED,
    ),
    "CRLF line endings": (
        (HEAD + MI300 + ENTRY.format('"r"')).replace("\n", "\r\n"),
        LISTED,
    ),
    "a lone carriage return": (HEAD + ENTRY.format('"r"\r[variants.x]'), UNSURE),
    "an unterminated string": (HEAD + ENTRY.format('"r\n[variants.x]'), UNSURE),
    "an unclosed array": (HEAD + ENTRY.format("[1,\n") + MI300, UNSURE),
    "an unknown table": (HEAD + '[[skips]]\nmarker = "x"\n', UNSURE),
    "the platform as an array of tables": ('[[platform]]\ndescription = "x"\n', UNSURE),
    "a description that is not a string": ("[platform]\ndescription = 5\n", UNSURE),
    "an unknown key in a variant": (MI300 + 'descripton = "typo"\n', UNSURE),
    "a variant name the model refuses": ('[variants.MI300]\nmatch = ["x"]\n', UNSURE),
    "unknown hardware": ('[platform]\nhardware = "tpu"\n', UNSURE),
    "a header that is not TOML": (HEAD + "[variants.mi300\n", UNSURE),
    "a byte-order mark": ("\ufeff" + HEAD, UNSURE),
    "no tables at all": ("", LISTED),
}


def whole_file_listing(root: Path) -> list[tuple]:
    """The listing from the whole file, parsed by tomllib (the truth to match)."""
    data = tomllib.loads((root / "skiplists/platforms/rocm.toml").read_text())
    on = data.get("platform", {}).get("description", "rocm platform")
    out = [("rocm-unit", ["rocm", "unit"], f"Run suite unit as rocm CI does: {on}.")]
    for name, table in data.get("variants", {}).items():
        on = table.get("description", f"rocm {name}")
        doc = f"Run suite unit as rocm:{name} CI does: {on}."
        out.append((f"rocm-{name}-unit", ["rocm", f"rocm-{name}", "unit"], doc))
    return out


@pytest.mark.parametrize("name", list(TRICKY))
def test_the_scan_lists_right_or_not_at_all(tmp_path, name):
    text, outcome = TRICKY[name]
    root = tmp_path / "ws"
    write(root, {"skiplists/suites.toml": '[suites.unit]\npath = "tests/unit"\n'})
    (root / "skiplists/platforms").mkdir()
    (root / "skiplists/platforms/rocm.toml").write_bytes(text.encode())
    listing = cold(root)
    if outcome == UNSURE:
        assert listing is None
    else:
        assert shown(listing) == whole_file_listing(root)


VALUES = (
    *('"plain"', "'literal'", '""', '"a # b"', '"\\"[x]\\""', "'C:\\x\\'", '"\\\\"'),
    *('"""\n[variants.fake]\n"""', "'''\n[variants.fake]\n'''", '"""a""""'),
    *("'''a''''", '"""\\\n  [platform]"""', "[1, 2]", '[\n  "a", # ]\n  "b",\n]'),
    *('[\n  ["variants"]\n]', '{ a = "]", b = [1] }', "[[1], [2]]", "1979-05-27"),
    '[\n"""\n[platform]\n""",\n]',
)
HEADERS = (
    *("[platform]", "[variants.v{}]", "[[ignore]]", "[[skip]]", "[ignore.fails]"),
    *('[ "variants" . "w{}" ]', "  [variants.i{}]  # [x]", "[platform.buildkite]"),
    *("[variants.v{}.buildkite]", "[variants]"),
)


def random_platform_file(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(0, 8)):
        if rng.random() < 0.7:
            lines.append(rng.choice(HEADERS).format(rng.randint(0, 3)))
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.1:
                lines.append("# " + rng.choice(HEADERS) + rng.choice(['"""', "'''"]))
            else:
                lines.append(f"k{rng.randint(0, 5)} = {rng.choice(VALUES)}")
    text = "\n".join(lines) + "\n"
    return text.replace("\n", "\r\n") if rng.random() < 0.2 else text


def test_random_platform_files_list_right_or_not_at_all():
    """Valid TOML gives the whole file's [platform] and [variants] tables, or
    None; invalid TOML is the loader's to report."""
    rng = random.Random(27442)
    listed = 0
    for _ in range(600):
        text = random_platform_file(rng)
        try:
            whole = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            continue
        try:
            tables = schema.PLATFORM_FILE.root.keys
            head = tomllib.loads(tomlpos.head_text(text, HEAD_TABLES, tables))
        except (tomlpos.Doubt, tomllib.TOMLDecodeError):
            continue
        for table in ("platform", "variants"):
            assert head.get(table) == whole.get(table), text
        listed += 1
    assert listed > 200  # most valid files list


# -- what `nox -l` reports, and what waits for a session -------------------------------

# Problems in what names sessions stop `nox -l`; these, in values it does not read,
# stop the first session that runs (the full load reports them, test_schema.BAD).
REPORTED_WHEN_A_SESSION_RUNS = {
    "workspace-kinds",
    "workspace-gpus-negative",
    "workspace-patterns-that-backtrack",
    "reports-dir-leaves",
    "reports-dir-root",
    "workspace-buildkite",
    "gpus-boolean",
    "path-absolute",
    "path-leaves",
    "paths-empty",
    "path-missing-file",
    "path-not-python",
    "paths-overlap",
    "excludes",
    "exclude-kind",
    "expressions",
    "env",
    "env-kind",
    "args-refused",
    "args-kind",
    "suite-buildkite",
    "model-lists",
    "models-unknown-table",
    "entry-kinds",
    "ignore-references",
    "skip",
    "skip-duplicates",
    "deselect-and-flaky",
}


def test_bad_input_in_what_names_sessions_leaves_the_listing_to_the_loader(tmp_path):
    listed = set()
    for name, case in BAD.items():
        root = tmp_path / name
        write(root, BASE)
        (root / "skiplists" / case.file).write_text(case.text)
        if cold(root) is not None:
            listed.add(name)
    assert listed == REPORTED_WHEN_A_SESSION_RUNS


# -- the cache -------------------------------------------------------------------------


def test_any_change_to_a_skiplist_or_the_listing_code_is_a_new_key(
    generated, monkeypatch
):
    skiplists = generated / "skiplists"

    def key() -> str | None:
        files = listing.read_files(skiplists)
        assert files is not None
        return cache.stamp(skiplists, files)

    keys = [key()]
    for rel in ("models.toml", "platforms/rocm.toml", "suites.toml"):
        path = skiplists / rel
        path.write_text(path.read_text() + "\n# an edit\n")
        keys.append(key())
    with monkeypatch.context() as patched:
        patched.setattr(cache, "code_digest", lambda: "other loading code")
        keys.append(key())
    with monkeypatch.context() as patched:
        patched.setattr(sys, "version_info", (3, 99, 0))
        keys.append(key())
    assert key() == keys[3] and len(set(keys)) == len(keys)


def test_a_stale_or_broken_cache_is_never_served(generated):
    skiplists = generated / "skiplists"
    expected = plan_listing(generated)
    assert shown(listing.listing(skiplists)) == expected
    cached = skiplists / "__pycache__/testmatrix-sessions.json"
    header, body = cached.read_text().split("\n", 1)
    rows = json.dumps(json.loads(body)[:1])
    stale = json.dumps({**json.loads(header), "stamp": "from other files"})
    cached.write_text(stale + "\n" + rows)
    assert shown(listing.listing(skiplists)) == expected
    cached.write_text(header + "\n{not json")
    assert shown(listing.listing(skiplists)) == expected


def test_two_working_directories_share_one_cached_listing(generated, monkeypatch):
    skiplists = generated / "skiplists"
    monkeypatch.chdir(generated)
    first = listing.listing(skiplists)
    monkeypatch.chdir(generated / "tests")
    monkeypatch.setattr(listing, "read_listing", lambda *a: None)
    assert listing.listing(skiplists) == first
    assert [p.name for p in (skiplists / "__pycache__").glob("*.json")] == [
        "testmatrix-sessions.json"
    ]


def test_a_full_load_caches_the_listing(generated, monkeypatch):
    load_workspace(generated)
    monkeypatch.setattr(listing, "read_listing", lambda *a: None)
    assert shown(listing.listing(generated / "skiplists")) == plan_listing(generated)


# -- register: lazy sessions -----------------------------------------------------------


class FakeSession:
    """What a session function uses of nox.Session before pytest would run."""

    def __init__(self, name: str):
        self.name = name
        self.posargs: list[str] = []
        self.ran: list[tuple] = []

    def error(self, message: str):
        raise SystemExit(f"Session {self.name} aborted: {message}")

    def log(self, message: str) -> None:
        pass

    def run(self, *args: object, **kwargs: object) -> None:
        self.ran.append(args)


@pytest.fixture
def registry(monkeypatch):
    """nox's registry for this test alone; no envdir lock taken."""
    import nox.registry

    monkeypatch.setattr(nox.registry, "_REGISTRY", {})
    monkeypatch.setattr(noxsessions.envdir, "claim", lambda cwd: None)
    return nox.registry._REGISTRY


def test_a_broken_entry_is_listed_and_stops_the_session_before_pytest(
    generated, monkeypatch, registry
):
    monkeypatch.chdir(generated)
    (generated / "skiplists/models.toml").write_text("[model_lists.enc\n")
    workspace = noxsessions.register(generated)  # lists: no exit
    assert [n for n in registry if n.startswith("rocm-mi355")] == [
        "rocm-mi355-unit",
        "rocm-mi355-gpu-only",
        "rocm-mi355-mi355-only",
    ]
    assert registry["rocm-mi355-mi355-only"].tags == [
        "rocm",
        "rocm-mi355",
        "mi355-only",
    ]
    session = FakeSession("rocm-unit")
    with pytest.raises(SystemExit) as info:
        registry["rocm-unit"].func(session)
    assert str(info.value) == (
        "Session rocm-unit aborted: skiplists/models.toml:1: invalid TOML: "
        "Expected ']' at the end of a table declaration"
    )
    assert session.ran == []
    with pytest.raises(ConfigError):
        workspace.suites  # noqa: B018 - the handle loads the workspace when used


def test_broken_input_in_what_names_sessions_stops_nox_l(
    generated, monkeypatch, registry
):
    monkeypatch.chdir(generated)
    (generated / "skiplists/suites.toml").write_text(
        '[suites.unit]\npath = "tests/unit"\ndescription = \n'
    )
    with pytest.raises(SystemExit) as info:
        noxsessions.register(generated)
    # one line: the platform files' references to the suites are no news
    assert str(info.value).splitlines() == [
        "nox: skiplists/suites.toml:3: invalid TOML: Invalid value",
    ]
    assert registry == {}


def test_register_returns_the_workspace_loaded_when_used(
    generated, monkeypatch, registry
):
    monkeypatch.chdir(generated)
    workspace = noxsessions.register(generated)
    assert set(workspace.platforms) == {"cpu", "cuda", "rocm"}
    assert workspace.load() is workspace.load()
    assert registry["rocm-mi300-unit"].__doc__ == (
        "Run suite unit as rocm:mi300 CI does: MI300X."
    )
