"""Read `skiplists/` into a validated Workspace, reporting every problem with file:line.

Layout:
  skiplists/suites.toml          [workspace] settings and [suites.NAME] tables
  skiplists/models.toml          [model_lists.NAME] tables (optional file)
  skiplists/platforms/NAME.toml  one platform each: [platform], [[ignore]], [[skip]],
                                 [[deselect]], [[flaky]]
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from . import tomlpos
from .errors import ConfigError, Problem, did_you_mean, unknown
from .model import (
    DeselectEntry,
    FlakyEntry,
    IgnoreEntry,
    Location,
    ModelList,
    Platform,
    SkipEntry,
    Suite,
    Workspace,
)

SKIPLIST_DIR = "skiplists"
DEFAULT_MODEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$"
HARDWARE = ("rocm", "cuda", "none")
VISIBLE_DEVICES = {
    "rocm": "HIP_VISIBLE_DEVICES",
    "cuda": "CUDA_VISIBLE_DEVICES",
    "none": "",
}
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
RESERVED_PLATFORMS = {"none", "all"}

ENTRY_KEYS = {"reason", "issue", "expires"}
TABLE_KEYS = {
    "workspace": {
        "install",
        "model_pattern",
        "buildkite",
        "reports_dir",
        "lease_dir",
        "gpus",
    },
    "suite": {
        "path",
        "description",
        "buildkite",
        "reruns",
        "reruns_delay",
        "durations",
    },
    "model_list": {"models", "description"},
    "platform": {"description", "hardware", "visible_devices_env", "buildkite"},
    "ignore": ENTRY_KEYS | {"suite", "path", "paths"},
    "skip": ENTRY_KEYS | {"marker", "models", "model_lists"},
    "deselect": ENTRY_KEYS | {"test", "tests"},
    "flaky": ENTRY_KEYS | {"test", "tests", "reruns", "delay"},
}
BUILDKITE_TYPES = {
    "queue": str,
    "agents": dict,
    "timeout_in_minutes": int,
    "parallelism": int,
    "soft_fail": bool,
    "env": dict,
    "retry": int,
    "command_style": str,
    "pipeline": str,
}
BUILDKITE_WHERE = {"pipeline": "workspace"}


def find_skiplists(start: Path) -> Path:
    """The workspace root: the nearest directory at or above `start` with skiplists/suites.toml."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / SKIPLIST_DIR / "suites.toml").is_file():
            return directory
    raise ConfigError(
        [
            Problem(
                str(start),
                None,
                f"no {SKIPLIST_DIR}/suites.toml here or in any parent directory",
            )
        ]
    )


@dataclass
class _Doc:
    """One parsed skiplist file and the line of each key in it."""

    path: Path
    rel: str
    data: dict
    positions: dict

    def loc(self, *key) -> Location:
        return Location(self.rel, tomlpos.line_of(self.positions, *key))


def did_you_mean_path(root: Path, missing: str, base: str) -> str:
    """' (did you mean 'x'?)' naming where a missing file most likely went, relative to `base`:
    a close name beside it (a rename), else the same name elsewhere under `base` (a move)."""
    import difflib

    def stem(
        name: str,
    ) -> str:  # 'test_' and '.py' would make every test file look alike
        return name.removeprefix("test_").removesuffix(".py")

    parent, name = posixpath.split(missing)
    found = None
    if (root / parent).is_dir():
        names = {
            stem(p.name): p.name
            for p in (root / parent).iterdir()
            if p.name != "__pycache__"
        }
        close = difflib.get_close_matches(stem(name), list(names), n=1, cutoff=0.75)
        found = posixpath.join(parent, names[close[0]]) if close else None
    if found is None and (root / base).is_dir():
        moved = sorted(
            p for p in (root / base).rglob(name) if "__pycache__" not in p.parts
        )
        found = moved[0].relative_to(root).as_posix() if moved else None
    if found is None:
        return ""
    return f" (did you mean '{posixpath.relpath(found, base)}'?)"


class _Loader:
    def __init__(self, root: Path, skiplist_dir: Path, check_paths: bool = True):
        self.root = root
        self.dir = skiplist_dir
        self.check_paths = check_paths
        self.problems: list[Problem] = []

    # -- reporting ---------------------------------------------------------------
    def error(self, doc: _Doc, key: tuple, message: str) -> None:
        self.problems.append(
            Problem(doc.rel, tomlpos.line_of(doc.positions, *key), message)
        )

    def rel(self, path: Path) -> str:
        try:
            return os.path.relpath(path, Path.cwd())
        except ValueError:  # pragma: no cover - other drive on Windows
            return str(path)

    # -- reading -----------------------------------------------------------------
    def read(self, path: Path) -> _Doc | None:
        rel = self.rel(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            self.problems.append(Problem(rel, None, f"cannot read: {exc.strerror}"))
            return None
        try:
            data = tomlpos.parse(text)
        except Exception as exc:  # tomllib.TOMLDecodeError
            line, message = tomlpos.decode_error_line(exc)
            self.problems.append(Problem(rel, line, f"invalid TOML: {message}"))
            return None
        return _Doc(path, rel, data, tomlpos.locate(text))

    def check_keys(
        self, doc: _Doc, key: tuple, table: object, kind: str, what: str
    ) -> dict:
        if not isinstance(table, dict):
            self.error(doc, key, f"{what} must be a table")
            return {}
        allowed = TABLE_KEYS[kind]
        for name in table:
            if name not in allowed:
                self.error(
                    doc,
                    key + (name,),
                    f"unknown key '{name}' in {what}{did_you_mean(name, allowed)}",
                )
        return table

    def check_buildkite(self, doc: _Doc, key: tuple, table: dict, where: str) -> None:
        """Buildkite step settings: known keys of the right types."""
        settings = table.get("buildkite")
        if settings is None:
            return
        key = key + ("buildkite",)
        if not isinstance(settings, dict):
            self.error(doc, key, "'buildkite' must be a table")
            table.pop("buildkite")
            return
        for name, value in list(settings.items()):
            expected = BUILDKITE_TYPES.get(name)
            if expected is None or BUILDKITE_WHERE.get(name, where) != where:
                allowed = [
                    k for k in BUILDKITE_TYPES if BUILDKITE_WHERE.get(k, where) == where
                ]
                self.error(
                    doc,
                    key + (name,),
                    f"unknown Buildkite setting '{name}'{did_you_mean(name, allowed)}; known: {', '.join(allowed)}",
                )
            elif not isinstance(value, expected) or (
                expected is int and isinstance(value, bool)
            ):
                self.error(
                    doc,
                    key + (name,),
                    f"Buildkite setting '{name}' must be {expected.__name__}",
                )
            elif name in ("timeout_in_minutes", "parallelism") and value < 1:
                self.error(
                    doc, key + (name,), f"Buildkite setting '{name}' must be at least 1"
                )
            elif name == "retry" and not 0 <= value <= 10:
                self.error(
                    doc, key + (name,), "Buildkite setting 'retry' must be from 0 to 10"
                )
            elif name == "command_style" and value not in ("nox", "pytest"):
                self.error(
                    doc,
                    key + (name,),
                    "Buildkite setting 'command_style' must be 'nox' or 'pytest'",
                )
            elif name in ("env", "agents") and not all(
                isinstance(v, (str, int, float, bool)) for v in value.values()
            ):
                self.error(
                    doc,
                    key + (name,),
                    f"Buildkite setting '{name}' must map names to plain values",
                )
            else:
                continue
            settings.pop(name, None)

    def string(self, doc, key, table, name, what, *, required=False, default=None):
        value = table.get(name, default)
        if value is None:
            if required:
                self.error(doc, key, f"{what} has no '{name}'")
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(
                doc, key + (name,), f"'{name}' in {what} must be a non-empty string"
            )
            return None
        return value

    def strings(self, doc, key, table, name, what) -> list[tuple[str, tuple]]:
        """A string or list of strings, each with its key path (for its line)."""
        value = table.get(name)
        if value is None:
            return []
        if isinstance(value, str):
            return [(value, key + (name,))]
        if not isinstance(value, list) or not all(
            isinstance(v, str) and v for v in value
        ):
            self.error(
                doc,
                key + (name,),
                f"'{name}' in {what} must be a list of non-empty strings",
            )
            return []
        return [(v, key + (name, i)) for i, v in enumerate(value)]

    def entry_common(self, doc, key, table, platform, what):
        reason = self.string(doc, key, table, "reason", what, required=True)
        issue = self.string(doc, key, table, "issue", what)
        if issue and not re.match(r"^https?://\S+$", issue):
            self.error(
                doc,
                key + ("issue",),
                f"'issue' in {what} must be a link (http:// or https://), got '{issue}'",
            )
        expires = table.get("expires")
        if expires is not None:
            if isinstance(expires, str):
                try:
                    expires = dt.date.fromisoformat(expires)
                except ValueError:
                    self.error(
                        doc,
                        key + ("expires",),
                        f"'expires' in {what} must be a date (YYYY-MM-DD), got '{expires}'",
                    )
                    expires = None
            elif isinstance(expires, dt.datetime):
                expires = expires.date()
            elif not isinstance(expires, dt.date):
                self.error(
                    doc,
                    key + ("expires",),
                    f"'expires' in {what} must be a date (YYYY-MM-DD)",
                )
                expires = None
        return dict(
            platform=platform, reason=reason or "", issue=issue, expires=expires
        )

    # -- the files ---------------------------------------------------------------
    def load(self) -> Workspace:
        suites_doc = self.read(self.dir / "suites.toml")
        models_path = self.dir / "models.toml"
        models_doc = self.read(models_path) if models_path.exists() else None
        workspace = {}
        suites: dict[str, Suite] = {}
        if suites_doc:
            workspace, suites = self.load_suites(suites_doc)
        model_lists = self.load_models(models_doc) if models_doc else {}
        # a models.toml that did not parse already has its error; its references are not news
        self.models_broken = models_path.exists() and models_doc is None
        platforms: dict[str, Platform] = {}
        platform_dir = self.dir / "platforms"
        files = sorted(platform_dir.glob("*.toml")) if platform_dir.is_dir() else []
        if not files:
            self.problems.append(
                Problem(
                    self.rel(platform_dir),
                    None,
                    "no platform files (expected platforms/NAME.toml)",
                )
            )
        for path in files:
            doc = self.read(path)
            if doc:
                platform = self.load_platform(doc, path.stem, suites, model_lists)
                if platform:
                    platforms[platform.name] = platform
        pattern = workspace.get("model_pattern", DEFAULT_MODEL_PATTERN)
        if self.problems:
            raise ConfigError(self.problems)
        install = tuple(workspace.get("install", ["."]))
        return Workspace(
            root=self.root,
            skiplist_dir=self.dir,
            suites=suites,
            platforms=platforms,
            model_lists=model_lists,
            install=install,
            model_pattern=pattern,
            settings=workspace,
        )

    def load_suites(self, doc: _Doc):
        for name in doc.data:
            if name not in ("workspace", "suites"):
                self.error(
                    doc,
                    (name,),
                    f"unknown table '{name}'{did_you_mean(name, ['workspace', 'suites'])}; expected [workspace] or [suites.NAME]",
                )
        workspace = self.check_keys(
            doc,
            ("workspace",),
            doc.data.get("workspace", {}),
            "workspace",
            "[workspace]",
        )
        self.check_buildkite(doc, ("workspace",), workspace, "workspace")
        install = workspace.get("install")
        if install is not None and (
            not isinstance(install, list)
            or not all(isinstance(a, str) for a in install)
        ):
            self.error(
                doc,
                ("workspace", "install"),
                "'install' in [workspace] must be a list of pip arguments",
            )
            workspace = {k: v for k, v in workspace.items() if k != "install"}
        pattern = workspace.get("model_pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                self.error(
                    doc,
                    ("workspace", "model_pattern"),
                    f"'model_pattern' is not a regular expression: {exc}",
                )
                workspace = {k: v for k, v in workspace.items() if k != "model_pattern"}
        tables = doc.data.get("suites", {})
        suites: dict[str, Suite] = {}
        if not isinstance(tables, dict) or not tables:
            self.error(
                doc, ("suites",), "no suites declared (expected [suites.NAME] tables)"
            )
            return workspace, suites
        for name, table in tables.items():
            key = ("suites", name)
            what = f"[suites.{name}]"
            if not NAME_PATTERN.match(name):
                self.error(
                    doc,
                    key,
                    f"suite name '{name}' must be lower-case letters, digits, '-' or '_'",
                )
            table = self.check_keys(doc, key, table, "suite", what)
            self.check_buildkite(doc, key, table, "suite")
            path = self.string(doc, key, table, "path", what, required=True)
            if path is None:
                continue
            norm = self.normalise(doc, key + ("path",), path)
            if norm is None:
                continue
            if self.check_paths and not (self.root / norm).is_dir():
                self.error(
                    doc,
                    key + ("path",),
                    f"suite '{name}': directory '{path}' does not exist",
                )
            description = (
                self.string(doc, key, table, "description", what)
                or f"tests under {norm}"
            )
            self.string(
                doc, key, table, "durations", what
            )  # a path; a missing file only means shards go by count
            reruns = table.get("reruns")
            if reruns is not None and (
                not isinstance(reruns, int)
                or isinstance(reruns, bool)
                or not 1 <= reruns <= 20
            ):
                self.error(
                    doc,
                    key + ("reruns",),
                    f"'reruns' in {what} must be an integer from 1 to 20",
                )
                table = {k: v for k, v in table.items() if k != "reruns"}
            delay = table.get("reruns_delay")
            if delay is not None and (
                not isinstance(delay, (int, float))
                or isinstance(delay, bool)
                or delay < 0
            ):
                self.error(
                    doc,
                    key + ("reruns_delay",),
                    f"'reruns_delay' in {what} must be a number of seconds >= 0",
                )
            suites[name] = Suite(name, norm, description, doc.loc(*key), settings=table)
        return workspace, suites

    def normalise(self, doc, key, path: str, *, base: str = "") -> str | None:
        """A workspace-relative posix path, refusing absolute paths and escapes."""
        if os.path.isabs(path) or path.startswith("~"):
            self.error(doc, key, f"path '{path}' must be relative")
            return None
        joined = PurePosixPath(base, path) if base else PurePosixPath(path)
        parts: list[str] = []
        for part in joined.parts:
            if part == "..":
                if not parts:
                    self.error(doc, key, f"path '{path}' leaves the workspace")
                    return None
                parts.pop()
            elif part != ".":
                parts.append(part)
        return "/".join(parts)

    def load_models(self, doc: _Doc) -> dict[str, ModelList]:
        for name in doc.data:
            if name != "model_lists":
                self.error(
                    doc,
                    (name,),
                    f"unknown table '{name}'{did_you_mean(name, ['model_lists'])}; expected [model_lists.NAME]",
                )
        lists: dict[str, ModelList] = {}
        for name, table in doc.data.get("model_lists", {}).items():
            key = ("model_lists", name)
            what = f"[model_lists.{name}]"
            table = self.check_keys(doc, key, table, "model_list", what)
            models = self.strings(doc, key, table, "models", what)
            if "models" not in table:
                self.error(doc, key, f"{what} has no 'models'")
            seen: set[str] = set()
            for model, mkey in models:
                if model in seen:
                    self.error(doc, mkey, f"duplicate model '{model}' in {what}")
                seen.add(model)
            description = self.string(doc, key, table, "description", what) or ""
            lists[name] = ModelList(
                name, tuple(m for m, _ in models), description, doc.loc(*key)
            )
        return lists

    def load_platform(
        self, doc: _Doc, name: str, suites, model_lists
    ) -> Platform | None:
        if not NAME_PATTERN.match(name) or name in RESERVED_PLATFORMS:
            self.problems.append(
                Problem(
                    doc.rel,
                    None,
                    f"platform file name '{name}' must be lower-case letters, digits, '-' or '_' and not one of {sorted(RESERVED_PLATFORMS)}",
                )
            )
            return None
        kinds = ("platform", "ignore", "skip", "deselect", "flaky")
        for table in doc.data:
            if table not in kinds:
                self.error(
                    doc,
                    (table,),
                    f"unknown table '{table}'{did_you_mean(table, kinds)}; expected [platform], [[ignore]], [[skip]], [[deselect]] or [[flaky]]",
                )
        head = self.check_keys(
            doc, ("platform",), doc.data.get("platform", {}), "platform", "[platform]"
        )
        self.check_buildkite(doc, ("platform",), head, "platform")
        hardware = self.string(doc, ("platform",), head, "hardware", "[platform]") or (
            name if name in HARDWARE else "none"
        )
        if hardware not in HARDWARE:
            self.error(
                doc, ("platform", "hardware"), unknown("hardware", hardware, HARDWARE)
            )
            hardware = "none"
        visible = (
            self.string(doc, ("platform",), head, "visible_devices_env", "[platform]")
            or VISIBLE_DEVICES[hardware]
        )
        description = (
            self.string(doc, ("platform",), head, "description", "[platform]")
            or f"{name} platform"
        )
        ignores = self.load_ignores(doc, name, suites)
        skips = self.load_skips(doc, name, model_lists)
        deselects = self.load_deselects(doc, name, suites)
        flaky = self.load_flaky(doc, name)
        return Platform(
            name=name,
            description=description,
            hardware=hardware,
            visible_devices_env=visible,
            location=doc.loc("platform"),
            ignores=tuple(ignores),
            skips=tuple(skips),
            deselects=tuple(deselects),
            flaky=tuple(flaky),
            settings=head,
        )

    def entries(self, doc: _Doc, kind: str):
        tables = doc.data.get(kind, [])
        if not isinstance(tables, list):
            self.error(
                doc, (kind,), f"'{kind}' must be an array of tables: write [[{kind}]]"
            )
            return
        for index, table in enumerate(tables):
            key = (kind, index)
            what = f"[[{kind}]] entry"
            table = self.check_keys(doc, key, table, kind, what)
            if table:
                yield key, table, what

    def load_ignores(self, doc, platform, suites) -> list[IgnoreEntry]:
        found: list[IgnoreEntry] = []
        seen: dict[tuple[str, str], IgnoreEntry] = {}
        for key, table, what in self.entries(doc, "ignore"):
            common = self.entry_common(doc, key, table, platform, what)
            suite_name = self.string(doc, key, table, "suite", what, required=True)
            if suite_name is not None and suite_name not in suites:
                self.error(doc, key + ("suite",), unknown("suite", suite_name, suites))
                continue
            paths = self.strings(doc, key, table, "path", what) + self.strings(
                doc, key, table, "paths", what
            )
            if not paths and "path" not in table and "paths" not in table:
                self.error(doc, key, f"{what} has no 'path' (or 'paths')")
            if suite_name is None:
                continue
            suite = suites[suite_name]
            for path, pkey in paths:
                target = self.normalise(doc, pkey, path, base=suite.path)
                if target is None:
                    continue
                if not (target == suite.path or target.startswith(suite.path + "/")):
                    self.error(
                        doc,
                        pkey,
                        f"ignored path '{path}' is outside suite '{suite_name}' ({suite.path})",
                    )
                    continue
                if self.check_paths and not (self.root / target).exists():
                    hint = did_you_mean_path(self.root, target, suite.path)
                    self.error(
                        doc,
                        pkey,
                        f"ignored path '{path}' does not exist in suite '{suite_name}' ({target}); was it renamed or deleted?{hint}",
                    )
                    continue
                if (suite_name, target) in seen:
                    self.error(
                        doc,
                        pkey,
                        f"duplicate ignore of '{target}' (first at {seen[(suite_name, target)].location})",
                    )
                    continue
                loc = Location(doc.rel, tomlpos.line_of(doc.positions, *pkey))
                entry = IgnoreEntry(
                    suite=suite_name, path=path, target=target, location=loc, **common
                )
                seen[(suite_name, target)] = entry
                found.append(entry)
        return found

    def load_skips(self, doc, platform, model_lists) -> list[SkipEntry]:
        found: list[SkipEntry] = []
        seen: dict[tuple[str, str], SkipEntry] = {}
        for key, table, what in self.entries(doc, "skip"):
            common = self.entry_common(doc, key, table, platform, what)
            marker = self.string(doc, key, table, "marker", what, required=True)
            if marker is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", marker):
                self.error(
                    doc,
                    key + ("marker",),
                    f"marker '{marker}' is not a valid pytest marker name",
                )
                marker = None
            models = self.strings(doc, key, table, "models", what)
            refs = self.strings(doc, key, table, "model_lists", what)
            if (
                not models
                and not refs
                and "models" not in table
                and "model_lists" not in table
            ):
                self.error(
                    doc,
                    key,
                    f"{what} names no models (give 'models' and/or 'model_lists')",
                )
            resolved: dict[str, tuple] = {}
            for ref, rkey in refs:
                if ref not in model_lists:
                    if not self.models_broken:
                        self.error(doc, rkey, unknown("model list", ref, model_lists))
                    continue
                for model in model_lists[ref].models:
                    resolved.setdefault(model, rkey)
            for model, mkey in models:
                if model in resolved:
                    self.error(doc, mkey, f"duplicate model '{model}' in {what}")
                resolved[model] = mkey
            if marker is None:
                continue
            loc = doc.loc(*key)
            entry = SkipEntry(
                marker=marker,
                models=frozenset(resolved),
                model_lists=tuple(r for r, _ in refs),
                location=loc,
                **common,
            )
            for model, mkey in resolved.items():
                if (marker, model) in seen:
                    self.error(
                        doc,
                        mkey,
                        f"duplicate entry: model '{model}' with marker '{marker}' is already skipped at {seen[(marker, model)].location}",
                    )
                else:
                    seen[(marker, model)] = entry
            found.append(entry)
        return found

    def load_deselects(self, doc, platform, suites) -> list[DeselectEntry]:
        found: list[DeselectEntry] = []
        seen: dict[str, DeselectEntry] = {}
        for key, table, what in self.entries(doc, "deselect"):
            common = self.entry_common(doc, key, table, platform, what)
            tests = self.strings(doc, key, table, "test", what) + self.strings(
                doc, key, table, "tests", what
            )
            if not tests and "test" not in table and "tests" not in table:
                self.error(doc, key, f"{what} has no 'test' (or 'tests')")
            for nodeid, tkey in tests:
                file_part = nodeid.split("::", 1)[0]
                norm = self.normalise(doc, tkey, file_part)
                if norm is None:
                    continue
                if norm != file_part:
                    self.error(
                        doc,
                        tkey,
                        f"test id '{nodeid}' must be a pytest node id relative to the workspace root (write '{norm}')",
                    )
                    continue
                if self.check_paths and not (self.root / norm).exists():
                    hint = did_you_mean_path(self.root, norm, ".")
                    self.error(
                        doc,
                        tkey,
                        f"test id '{nodeid}': file '{norm}' does not exist; was it renamed or deleted?{hint}",
                    )
                    continue
                if not any(
                    norm == s.path or norm.startswith(s.path + "/")
                    for s in suites.values()
                ):
                    self.error(doc, tkey, f"test id '{nodeid}' is outside every suite")
                    continue
                if nodeid in seen:
                    self.error(
                        doc,
                        tkey,
                        f"duplicate test id '{nodeid}' (first at {seen[nodeid].location})",
                    )
                    continue
                loc = Location(doc.rel, tomlpos.line_of(doc.positions, *tkey))
                entry = DeselectEntry(nodeid=nodeid, location=loc, **common)
                seen[nodeid] = entry
                found.append(entry)
        return found

    def load_flaky(self, doc, platform) -> list[FlakyEntry]:
        found: list[FlakyEntry] = []
        seen: dict[str, FlakyEntry] = {}
        for key, table, what in self.entries(doc, "flaky"):
            common = self.entry_common(doc, key, table, platform, what)
            reruns = table.get("reruns", 2)
            if (
                not isinstance(reruns, int)
                or isinstance(reruns, bool)
                or not 1 <= reruns <= 20
            ):
                self.error(
                    doc,
                    key + ("reruns",),
                    f"'reruns' in {what} must be an integer from 1 to 20",
                )
                reruns = 2
            delay = table.get("delay", 0)
            if (
                not isinstance(delay, (int, float))
                or isinstance(delay, bool)
                or delay < 0
            ):
                self.error(
                    doc,
                    key + ("delay",),
                    f"'delay' in {what} must be a number of seconds >= 0",
                )
                delay = 0
            tests = self.strings(doc, key, table, "test", what) + self.strings(
                doc, key, table, "tests", what
            )
            if not tests and "test" not in table and "tests" not in table:
                self.error(doc, key, f"{what} has no 'test' (or 'tests')")
            for pattern, tkey in tests:
                if pattern in seen:
                    self.error(
                        doc,
                        tkey,
                        f"duplicate flaky test '{pattern}' (first at {seen[pattern].location})",
                    )
                    continue
                loc = Location(doc.rel, tomlpos.line_of(doc.positions, *tkey))
                entry = FlakyEntry(
                    pattern=pattern,
                    reruns=reruns,
                    delay=float(delay),
                    location=loc,
                    **common,
                )
                seen[pattern] = entry
                found.append(entry)
        return found


def load_workspace(
    root: Path | str | None = None,
    skiplist_dir: Path | str | None = None,
    *,
    check_paths: bool = True,
) -> Workspace:
    """Load and validate the skiplists of the workspace at (or above) `root`.

    check_paths=False skips the checks that paths exist: for transformations of the skiplists
    alone (a pipeline export away from the checkout), never for running or linting tests.
    """
    if skiplist_dir is not None:
        skiplist_dir = Path(skiplist_dir).resolve()
        root = Path(root).resolve() if root is not None else skiplist_dir.parent
        if not (skiplist_dir / "suites.toml").is_file():
            raise ConfigError(
                [
                    Problem(
                        str(skiplist_dir),
                        None,
                        "no suites.toml in this skiplist directory",
                    )
                ]
            )
    else:
        root = find_skiplists(Path(root) if root is not None else Path.cwd())
        skiplist_dir = root / SKIPLIST_DIR
    if not check_paths or os.environ.get("TESTMATRIX_NO_CACHE"):
        return _Loader(Path(root), Path(skiplist_dir), check_paths).load()
    from . import wscache

    cached = wscache.get(Path(skiplist_dir))
    if cached is not None and cached.root == Path(root):
        return cached
    workspace = _Loader(Path(root), Path(skiplist_dir), check_paths).load()
    wscache.put(Path(skiplist_dir), workspace)
    return workspace
