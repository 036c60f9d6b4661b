"""Read `skiplists/` into a validated Workspace, reporting every problem with file:line.

Layout:
  skiplists/suites.toml          [workspace] settings and [suites.NAME] tables
  skiplists/models.toml          [model_lists.NAME] tables (optional file)
  skiplists/platforms/NAME.toml  one platform each: [platform], [variants.NAME],
                                 [[ignore]], [[skip]], [[deselect]], [[flaky]]

What each table may say (keys, kinds, defaults) is declared in `schema`, which checks
it; this module checks what a declaration cannot say (paths that must exist, references
between files, duplicates, colliding session names) and builds the model.
"""

from __future__ import annotations

import os
import posixpath
import types
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from . import tomlpos
from .errors import ConfigError, Problem, unknown
from .jsonio import NotText, decode
from .model import (
    HARDWARE,
    NAME_PATTERN,
    BuildkiteSettings,
    DeselectEntry,
    Exclude,
    FlakyEntry,
    IgnoreEntry,
    Location,
    ModelList,
    Platform,
    Signature,
    SkipEntry,
    Suite,
    Variant,
    Workspace,
    base_of,
    frozen_map,
)
from .sessionlist import RESERVED_PLATFORMS as RESERVED_PLATFORMS
from .sessionlist import SKIPLIST_DIR as SKIPLIST_DIR
from .sessionlist import find_root as find_root
from .sessionlist import (
    platform_description,
    session_name,
    suite_runs_on,
    variant_description,
)

VISIBLE_DEVICES = {
    "rocm": "HIP_VISIBLE_DEVICES",
    "cuda": "CUDA_VISIBLE_DEVICES",
    "none": "",
}

__all__ = [
    "HARDWARE",
    "NAME_PATTERN",
    "RESERVED_PLATFORMS",
    "SKIPLIST_DIR",
    "did_you_mean_path",
    "find_root",
    "find_skiplists",
    "load_workspace",
]

if TYPE_CHECKING:
    from . import schema

Values = dict[str, Any]  # one table's values, as schema.check returns them


def _schema() -> types.ModuleType:
    """The key declarations and their checker, imported where TOML is read: a
    cached workspace (nox -l, pytest start-up) needs neither."""
    from . import schema

    return schema


def buildkite_settings(values: Values) -> BuildkiteSettings:
    """One layer's checked Buildkite values as settings: retry rules (an array of
    tables) as frozen maps of the keys they give."""
    values = dict(values)
    rules = values.get("retry_rules")
    if rules is not None:
        values["retry_rules"] = (
            tuple(
                frozen_map({k: v for k, v in rule.items() if v is not None})
                for _, rule in rules
            )
            or None
        )
    return BuildkiteSettings(**values)


def find_skiplists(start: Path) -> Path:
    """The workspace root: the nearest directory at or above `start` with
    skiplists/suites.toml."""
    root = find_root(start)
    if root is not None:
        return root
    start = start.resolve()
    message = f"no {SKIPLIST_DIR}/suites.toml here or in any parent directory"
    raise ConfigError([Problem(str(start), None, message)])


@dataclass
class _Doc:
    """One parsed skiplist file and the line of each key in it."""

    path: Path
    rel: str
    data: dict
    positions: dict

    def loc(self, *key: str | int) -> Location:
        return Location(self.rel, tomlpos.line_of(self.positions, *key))


def did_you_mean_path(root: Path, missing: str, base: str) -> str:
    """' (did you mean 'x'?)' naming where a missing file most likely went, relative to
    `base`: a close name beside it (a rename), else the same name elsewhere under
    `base` (a move)."""

    def stem(name: str) -> str:  # 'test_' and '.py' would make every test look alike
        return name.removeprefix("test_").removesuffix(".py")

    parent, name = posixpath.split(missing)
    found = None
    if (root / parent).is_dir():
        names = {
            stem(p.name): p.name
            for p in (root / parent).iterdir()
            if p.name != "__pycache__"
        }
        import difflib  # only for a suggestion in an error: not at every start

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


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two entries' variants meet (none: the whole platform)."""
    return not a or not b or bool(set(a) & set(b))


class _Loader:
    def __init__(self, root: Path, skiplist_dir: Path, check_paths: bool = True):
        self.root = root
        self.dir = skiplist_dir
        self.check_paths = check_paths
        self.problems: list[Problem] = []
        # suites, platform files and model lists whose own errors are reported:
        # references to them would only repeat those
        self.broken_suites: set[str] = set()
        self.broken_platforms: set[str] = set()
        self.models_broken = False

    # -- reporting ---------------------------------------------------------------
    def error(self, doc: _Doc, key: tuple, message: str) -> None:
        line = tomlpos.line_of(doc.positions, *key)
        self.problems.append(Problem(doc.rel, line, message))

    def rel(self, path: Path) -> str:
        try:
            return os.path.relpath(path, Path.cwd())
        except ValueError:  # pragma: no cover - other drive on Windows
            return str(path)

    # -- reading -----------------------------------------------------------------
    def read(self, path: Path) -> _Doc | None:
        rel = self.rel(path)
        try:
            text = decode(path.read_bytes(), rel, "skiplist")
        except OSError as exc:
            self.problems.append(Problem(rel, None, f"cannot read: {exc.strerror}"))
            return None
        except NotText as exc:
            self.problems.append(Problem(rel, exc.line, exc.detail))
            return None
        try:
            data = tomlpos.parse(text)
        except Exception as exc:  # tomllib.TOMLDecodeError
            line, message = tomlpos.decode_error_line(exc)
            self.problems.append(Problem(rel, line, f"invalid TOML: {message}"))
            return None
        return _Doc(path, rel, data, tomlpos.locate(text))

    def check(self, document: schema.Document, doc: _Doc) -> Values:
        from . import schema  # the validator: loaded only where TOML is read

        """The file's values as its declaration reads them; their problems noted."""
        values, problems = schema.check(document, doc.data, doc.rel, doc.positions)
        self.problems += problems
        return values

    def normalise(
        self, doc: _Doc, key: tuple, path: str, *, base: str = ""
    ) -> str | None:
        """A workspace-relative posix path, refusing absolute paths, escapes and the
        workspace root itself."""
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
        if not parts:
            self.error(doc, key, f"path '{path}' is the workspace root itself")
            return None
        return "/".join(parts)

    # -- the files ---------------------------------------------------------------
    def load(self) -> Workspace:
        suites_doc = self.read(self.dir / "suites.toml")
        settings: Values = {}
        suites: dict[str, Suite] = {}
        if suites_doc:
            settings, suites = self.load_suites(suites_doc)
        models_path = self.dir / "models.toml"
        model_lists: dict[str, ModelList] = {}
        if models_path.exists():
            models_doc = self.read(models_path)
            if models_doc:
                model_lists = self.load_models(models_doc)
            # a models.toml that did not parse has its error; references are no news
            self.models_broken = models_doc is None
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
            platform = None
            if doc is not None:
                platform = self.load_platform(doc, path.stem, suites, model_lists)
            if platform:
                platforms[platform.name] = platform
            else:
                self.broken_platforms.add(path.stem)
        if suites_doc:
            self.check_runs_on(suites_doc, suites, platforms)
        self.check_sessions(suites, platforms)
        if self.problems:
            raise ConfigError(self.problems)
        return Workspace(
            root=self.root,
            skiplist_dir=self.dir,
            suites=suites,
            platforms=platforms,
            model_lists=model_lists,
            **settings,
        )

    # -- suites.toml -------------------------------------------------------------
    def load_suites(self, doc: _Doc) -> tuple[Values, dict[str, Suite]]:
        values = self.check(_schema().SUITES_FILE, doc)
        workspace = values["workspace"]
        reports_dir = self.normalise(
            doc, ("workspace", "reports_dir"), workspace["reports_dir"]
        )
        buildkite = dict(workspace["buildkite"])
        settings: Values = {
            "install": workspace["install"],
            "model_pattern": workspace["model_pattern"],
            "model_params": workspace["model_params"],
            "gpus": workspace["gpus"],
            "lease_dir": workspace["lease_dir"],
            "reports_dir": reports_dir or workspace["reports_dir"],
            "pipeline": buildkite.pop("pipeline"),
            "annotate": buildkite.pop("annotate"),
            "history": buildkite.pop("history"),
            "buildkite": buildkite_settings(buildkite),
        }
        suites: dict[str, Suite] = {}
        for name, table in values["suites"].items():
            suite = self.suite(doc, name, table)
            if suite is None:
                self.broken_suites.add(name)
            else:
                suites[name] = suite
        return settings, suites

    def suite(self, doc: _Doc, name: str, values: Values) -> Suite | None:
        key = ("suites", name)
        what = f"[suites.{name}]"
        given: list[tuple[str, tuple]]
        if values["path"] is not None:
            given = [(values["path"], key + ("path",))]
        else:
            listed = values["paths"] or ()
            given = [(p, key + ("paths", i)) for i, p in enumerate(listed)]
        paths: list[str] = []
        for path, pkey in given:
            norm = self.normalise(doc, pkey, path)
            if norm is None:
                continue
            if norm in paths:
                self.error(doc, pkey, f"duplicate path '{path}' in {what}")
                continue
            outer = [p for p in paths if norm.startswith(p + "/")]
            inner = [p for p in paths if p.startswith(norm + "/")]
            if outer or inner:
                other = (outer or inner)[0]
                self.error(doc, pkey, f"paths '{norm}' and '{other}' in {what} overlap")
                continue
            paths.append(norm)
            if self.check_paths:
                self.check_suite_path(doc, pkey, name, path, norm)
        if not paths:
            return None
        description = values["description"] or f"tests under {', '.join(paths)}"
        excludes = self.excludes(doc, key, name, tuple(paths), values)
        return Suite(
            name=name,
            paths=tuple(paths),
            description=description,
            location=doc.loc(*key),
            excludes=excludes,
            markexpr=values["markexpr"],
            keyword=values["keyword"],
            env=values["env"] or frozen_map(),
            args=values["args"] or (),
            gpus=values["gpus"],
            runs_on=values["platforms"],
            runs_on_reason=values["platforms_reason"] or "",
            reruns=values["reruns"],
            reruns_delay=values["reruns_delay"],
            durations=values["durations"],
            buildkite=buildkite_settings(values["buildkite"]),
        )

    def escapes(self, norm: str) -> str | None:
        """Why a workspace path is refused though it is written inside: a symbolic
        link on the way leads out of the workspace (tests there have no workspace
        path to decide by, and --ignore flags would not match them)."""
        if not self.check_paths:
            return None
        real = os.path.realpath(self.root / norm)
        root = os.path.realpath(self.root)
        if real == root or real.startswith(root + os.sep):
            return None
        return (
            f"'{norm}' leads out of the workspace through a symbolic link (to {real})"
        )

    def check_suite_path(
        self, doc: _Doc, key: tuple, suite: str, path: str, norm: str
    ) -> None:
        """A suite's path must be a directory or a .py file (as pytest collects)."""
        found = self.root / norm
        escape = self.escapes(norm)
        if escape:
            self.error(doc, key, f"suite '{suite}': {escape}")
            return
        if found.is_dir() or (found.is_file() and norm.endswith(".py")):
            return
        if found.exists():
            message = f"'{path}' is neither a directory nor a .py file"
        elif norm.endswith(".py"):
            message = f"file '{path}' does not exist"
        else:
            message = f"directory '{path}' does not exist"
        self.error(doc, key, f"suite '{suite}': {message}")

    def excludes(
        self,
        doc: _Doc,
        key: tuple,
        name: str,
        paths: tuple[str, ...],
        values: Values,
    ) -> tuple[Exclude, ...]:
        """The suite's excludes: each inside one of its paths, existing, once."""
        base = base_of(paths)
        found: dict[str, Exclude] = {}
        for index, path in enumerate(values["exclude"] or ()):
            ekey = key + ("exclude", index)
            target = self.normalise(doc, ekey, path, base=base)
            if target is None:
                continue
            if target in paths:
                self.error(
                    doc,
                    ekey,
                    f"excluded path '{path}' is all of the suite's path '{target}': "
                    "exclude part of it, or drop the path",
                )
                continue
            if not any(target.startswith(p + "/") for p in paths):
                self.error(
                    doc,
                    ekey,
                    f"excluded path '{path}' is outside suite '{name}' "
                    f"({', '.join(paths)})",
                )
                continue
            escape = self.escapes(target)
            if escape:
                self.error(doc, ekey, f"excluded path {escape}")
                continue
            if self.check_paths and not (self.root / target).exists():
                hint = did_you_mean_path(self.root, target, base)
                self.error(
                    doc,
                    ekey,
                    f"excluded path '{path}' does not exist in suite '{name}' "
                    f"({target}); was it renamed or deleted?{hint}",
                )
                continue
            if target in found:
                self.error(
                    doc,
                    ekey,
                    f"duplicate exclude of '{target}' "
                    f"(first at {found[target].location})",
                )
                continue
            found[target] = Exclude(
                path, target, values["exclude_reason"], doc.loc(*ekey)
            )
        return tuple(found.values())

    def check_runs_on(
        self, doc: _Doc, suites: dict[str, Suite], platforms: dict[str, Platform]
    ) -> None:
        """Each place a suite names is a declared platform or platform:variant."""
        for suite in suites.values():
            seen: set[str] = set()
            places = suite.runs_on or ()
            for index, place in enumerate(places):
                pkey = ("suites", suite.name, "platforms", index)
                platform_name, _, variant = place.partition(":")
                if platform_name in self.broken_platforms:
                    continue  # its file's own problems say what is wrong
                platform = platforms.get(platform_name)
                if platform is None:
                    self.error(doc, pkey, unknown("platform", platform_name, platforms))
                elif variant and variant not in platform.variants:
                    noun = f"{platform_name} variant"
                    self.error(doc, pkey, unknown(noun, variant, platform.variants))
                elif place in seen:
                    self.error(
                        doc,
                        pkey,
                        f"duplicate platform '{place}' in [suites.{suite.name}]",
                    )
                elif variant and platform_name in places:
                    self.error(
                        doc,
                        pkey,
                        f"'{place}' in [suites.{suite.name}] is redundant: "
                        f"'{platform_name}' runs it on every variant",
                    )
                seen.add(place)

    def check_sessions(
        self, suites: dict[str, Suite], platforms: dict[str, Platform]
    ) -> None:
        """Every session name, <platform>-<suite> or <platform>-<variant>-<suite>,
        names one suite on one place."""
        seen: dict[str, tuple[str, Location]] = {}
        for platform in platforms.values():
            places: list[Variant | None] = [None, *platform.variants.values()]
            for variant in places:
                vname = variant.name if variant else None
                declared = variant.location if variant else platform.location
                for suite in suites.values():
                    if not suite_runs_on(suite.runs_on, platform.name, vname):
                        continue
                    name = session_name(platform.name, suite.name, vname)
                    where = f"{platform.name}:{vname}" if vname else platform.name
                    this = (
                        f"suite '{suite.name}' ({suite.location}) on {where} "
                        f"({declared})"
                    )
                    if name not in seen:
                        seen[name] = (this, suite.location)
                        continue
                    first, first_suite = seen[name]
                    at = suite.location if suite.location != first_suite else declared
                    self.problems.append(
                        Problem(
                            at.file,
                            at.line,
                            f"session name '{name}' is ambiguous: {first} and "
                            f"{this}; rename one",
                        )
                    )

    # -- models.toml -------------------------------------------------------------
    def load_models(self, doc: _Doc) -> dict[str, ModelList]:
        values = self.check(_schema().MODELS_FILE, doc)
        lists: dict[str, ModelList] = {}
        for name, table in values["model_lists"].items():
            key = ("model_lists", name)
            seen: set[str] = set()
            for index, model in enumerate(table["models"] or ()):
                if model in seen:
                    self.error(
                        doc,
                        key + ("models", index),
                        f"duplicate model '{model}' in [model_lists.{name}]",
                    )
                seen.add(model)
            lists[name] = ModelList(
                name,
                table["models"] or (),
                table["description"] or "",
                doc.loc(*key),
            )
        return lists

    # -- platforms/NAME.toml -----------------------------------------------------
    def load_platform(
        self,
        doc: _Doc,
        name: str,
        suites: dict[str, Suite],
        model_lists: dict[str, ModelList],
    ) -> Platform | None:
        if not NAME_PATTERN.fullmatch(name) or name in RESERVED_PLATFORMS:
            self.problems.append(
                Problem(
                    doc.rel,
                    None,
                    f"platform file name '{name}' must be lower-case letters, digits, "
                    f"'-' or '_' and not one of {sorted(RESERVED_PLATFORMS)}",
                )
            )
            return None
        values = self.check(_schema().PLATFORM_FILE, doc)
        head = values["platform"]
        hardware = head["hardware"] or (name if name in HARDWARE else "none")
        variants = self.variants(doc, name, values["variants"])
        entries = _Entries(self, doc, name, variants)
        return Platform(
            name=name,
            description=platform_description(name, head["description"]),
            hardware=hardware,
            visible_devices_env=head["visible_devices_env"]
            or VISIBLE_DEVICES[hardware],
            location=doc.loc("platform"),
            ignores=entries.ignores(values["ignore"], suites),
            skips=entries.skips(values["skip"], model_lists),
            deselects=entries.deselects(values["deselect"], suites),
            flaky=entries.flaky(values["flaky"]),
            variants=frozen_map(variants),
            buildkite=buildkite_settings(head["buildkite"]),
        )

    def variants(
        self, doc: _Doc, platform: str, tables: dict[str, Values]
    ) -> dict[str, Variant]:
        variants: dict[str, Variant] = {}
        matched: dict[str, str] = {}  # each match string recognises one variant
        for name, table in tables.items():
            key = ("variants", name)
            own: set[str] = set()
            for index, match in enumerate(table["match"]):
                folded, mkey = match.lower(), key + ("match", index)
                if folded in own:
                    self.error(
                        doc, mkey, f"duplicate match '{match}' in [variants.{name}]"
                    )
                elif folded in matched:
                    self.error(
                        doc,
                        mkey,
                        f"variants '{matched[folded]}' and '{name}' both match "
                        f"'{match}': detection cannot tell them apart",
                    )
                own.add(folded)
                matched.setdefault(folded, name)
            variants[name] = Variant(
                name=name,
                platform=platform,
                description=variant_description(platform, name, table["description"]),
                match=table["match"],
                location=doc.loc(*key),
                buildkite=buildkite_settings(table["buildkite"]),
            )
        return variants


class _Entries:
    """The entries of one platform file: references checked, duplicates refused
    (two entries are duplicates when they hold on a common variant)."""

    def __init__(
        self, loader: _Loader, doc: _Doc, platform: str, variants: dict[str, Variant]
    ):
        self.loader = loader
        self.doc = doc
        self.platform = platform
        self.variants = variants

    def error(self, key: tuple, message: str) -> None:
        self.loader.error(self.doc, key, message)

    def common(self, key: tuple, values: Values) -> dict[str, Any]:
        """What every entry carries, its variants checked against the platform's."""
        variants: list[str] = []
        for index, variant in enumerate(values["variants"] or ()):
            vkey = key + ("variants", index)
            if variant not in self.variants:
                noun = f"{self.platform} variant"
                self.error(vkey, unknown(noun, variant, self.variants))
            elif variant in variants:
                self.error(vkey, f"duplicate variant '{variant}' in [[{key[0]}]] entry")
            else:
                variants.append(variant)
        fails = values.get("fails") or {}  # absent: every key of it unset
        return {
            "platform": self.platform,
            "reason": values["reason"] or "",
            "issue": values["issue"],
            "expires": values["expires"],
            "variants": tuple(variants),
            "fails": (
                Signature(fails["error"], fails.get("match"))
                if fails.get("error")
                else None
            ),
        }

    def duplicate(self, seen: dict, subject: Any, entry: Any) -> Any:
        """The earlier entry of this subject that holds on a common variant."""
        for earlier in seen.get(subject, ()):
            if _overlap(earlier.variants, entry.variants):
                return earlier
        seen.setdefault(subject, []).append(entry)
        return None

    def ignores(
        self, tables: list[tuple[int, Values]], suites: dict[str, Suite]
    ) -> tuple[IgnoreEntry, ...]:
        found: list[IgnoreEntry] = []
        seen: dict[tuple[str, str], list[IgnoreEntry]] = {}
        loader = self.loader
        for index, values in tables:
            key = ("ignore", index)
            common = self.common(key, values)
            name = values["suite"]
            if name is None or name in loader.broken_suites:
                continue
            if name not in suites:
                self.error(key + ("suite",), unknown("suite", name, suites))
                continue
            suite = suites[name]
            given = [(p, key + ("path", i)) for i, p in enumerate(values["path"] or ())]
            given += [
                (p, key + ("paths", i)) for i, p in enumerate(values["paths"] or ())
            ]
            for path, pkey in given:
                target = loader.normalise(self.doc, pkey, path, base=suite.base)
                if target is None:
                    continue
                if not suite.holds(target):
                    self.error(
                        pkey,
                        f"ignored path '{path}' is outside suite '{name}' "
                        f"({', '.join(suite.paths)})",
                    )
                    continue
                escape = loader.escapes(target)
                if escape:
                    self.error(pkey, f"ignored path {escape}")
                    continue
                if loader.check_paths and not (loader.root / target).exists():
                    hint = did_you_mean_path(loader.root, target, suite.base)
                    self.error(
                        pkey,
                        f"ignored path '{path}' does not exist in suite '{name}' "
                        f"({target}); was it renamed or deleted?{hint}",
                    )
                    continue
                entry = IgnoreEntry(
                    suite=name,
                    path=path,
                    target=target,
                    location=self.doc.loc(*pkey),
                    **common,
                )
                first = self.duplicate(seen, (name, target), entry)
                if first is not None:
                    self.error(
                        pkey,
                        f"duplicate ignore of '{target}' (first at {first.location})",
                    )
                    continue
                found.append(entry)
        return tuple(found)

    def skips(
        self, tables: list[tuple[int, Values]], model_lists: dict[str, ModelList]
    ) -> tuple[SkipEntry, ...]:
        found: list[SkipEntry] = []
        seen: dict[tuple[str, str], list[SkipEntry]] = {}
        for index, values in tables:
            key = ("skip", index)
            what = "[[skip]] entry"
            common = self.common(key, values)
            resolved: dict[str, tuple] = {}
            refs = values["model_lists"] or ()
            for ref_index, ref in enumerate(refs):
                rkey = key + ("model_lists", ref_index)
                if ref not in model_lists:
                    if not self.loader.models_broken:
                        self.error(rkey, unknown("model list", ref, model_lists))
                    continue
                for model in model_lists[ref].models:
                    resolved.setdefault(model, rkey)
            for model_index, model in enumerate(values["models"] or ()):
                mkey = key + ("models", model_index)
                if model in resolved:
                    self.error(mkey, f"duplicate model '{model}' in {what}")
                resolved[model] = mkey
            marker = values["marker"]
            if marker is None:
                continue
            entry = SkipEntry(
                marker=marker,
                models=frozenset(resolved),
                model_lists=tuple(refs),
                location=self.doc.loc(*key),
                **common,
            )
            for model, mkey in resolved.items():
                first = self.duplicate(seen, (marker, model), entry)
                if first is not None:
                    self.error(
                        mkey,
                        f"duplicate entry: model '{model}' with marker '{marker}' "
                        f"is already skipped at {first.location}",
                    )
            found.append(entry)
        return tuple(found)

    def tests(self, key: tuple, values: Values) -> list[tuple[str, tuple]]:
        """An entry's test ids (test and tests), each with its key for its line."""
        given = [(t, key + ("test", i)) for i, t in enumerate(values["test"] or ())]
        given += [(t, key + ("tests", i)) for i, t in enumerate(values["tests"] or ())]
        return given

    def deselects(
        self, tables: list[tuple[int, Values]], suites: dict[str, Suite]
    ) -> tuple[DeselectEntry, ...]:
        found: list[DeselectEntry] = []
        seen: dict[str, list[DeselectEntry]] = {}
        loader = self.loader
        for index, values in tables:
            key = ("deselect", index)
            common = self.common(key, values)
            for nodeid, tkey in self.tests(key, values):
                file_part = nodeid.split("::", 1)[0]
                norm = loader.normalise(self.doc, tkey, file_part)
                if norm is None:
                    continue
                if norm != file_part:
                    self.error(
                        tkey,
                        f"test id '{nodeid}' must be a pytest node id relative to the "
                        f"workspace root (write '{norm}')",
                    )
                    continue
                if loader.check_paths and not (loader.root / norm).exists():
                    hint = did_you_mean_path(loader.root, norm, ".")
                    self.error(
                        tkey,
                        f"test id '{nodeid}': file '{norm}' does not exist; was it "
                        f"renamed or deleted?{hint}",
                    )
                    continue
                if not any(s.holds(norm) for s in suites.values()):
                    if not loader.broken_suites:
                        self.error(tkey, f"test id '{nodeid}' is outside every suite")
                    continue
                entry = DeselectEntry(
                    nodeid=nodeid, location=self.doc.loc(*tkey), **common
                )
                first = self.duplicate(seen, nodeid, entry)
                if first is not None:
                    self.error(
                        tkey,
                        f"duplicate test id '{nodeid}' (first at {first.location})",
                    )
                    continue
                found.append(entry)
        return tuple(found)

    def flaky(self, tables: list[tuple[int, Values]]) -> tuple[FlakyEntry, ...]:
        found: list[FlakyEntry] = []
        seen: dict[str, list[FlakyEntry]] = {}
        for index, values in tables:
            key = ("flaky", index)
            common = self.common(key, values)
            for pattern, tkey in self.tests(key, values):
                entry = FlakyEntry(
                    pattern=pattern,
                    reruns=values["reruns"],
                    delay=values["delay"],
                    location=self.doc.loc(*tkey),
                    **common,
                )
                first = self.duplicate(seen, pattern, entry)
                if first is not None:
                    self.error(
                        tkey,
                        f"duplicate flaky test '{pattern}' (first at {first.location})",
                    )
                    continue
                found.append(entry)
        return tuple(found)


def load_workspace(
    root: Path | str | None = None,
    skiplist_dir: Path | str | None = None,
    *,
    check_paths: bool = True,
) -> Workspace:
    """Load and validate the skiplists of the workspace at (or above) `root`.

    check_paths=False skips the checks that paths exist: for transformations of the
    skiplists alone (a pipeline export away from the checkout), never for running or
    linting tests.
    """
    if skiplist_dir is not None:
        skiplist_dir = Path(skiplist_dir).resolve()
        root = Path(root).resolve() if root is not None else skiplist_dir.parent
        if not (skiplist_dir / "suites.toml").is_file():
            message = "no suites.toml in this skiplist directory"
            raise ConfigError([Problem(str(skiplist_dir), None, message)])
    else:
        root = find_skiplists(Path(root) if root is not None else Path.cwd())
        skiplist_dir = root / SKIPLIST_DIR
    root, skiplist_dir = Path(root), Path(skiplist_dir)
    if not check_paths or os.environ.get("TESTMATRIX_NO_CACHE"):
        return _Loader(root, skiplist_dir, check_paths).load()
    from . import sessionlist, wscache

    files = sessionlist.read_files(skiplist_dir)
    current = wscache.stamp(skiplist_dir, files)
    cached = wscache.get(skiplist_dir, current)
    if cached is not None and cached.root == root:
        return cached
    workspace = _Loader(root, skiplist_dir, check_paths).load()
    if current:  # every file was read: cache what they loaded into
        wscache.put(skiplist_dir, workspace, current)
        sessionlist.store_for(workspace, files)  # and their sessions, for nox -l
    return workspace
