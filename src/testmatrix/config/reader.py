"""Read `skiplists/` into a validated Workspace, reporting every problem with file:line.

Layout:
  skiplists/suites.toml          [workspace] settings and [suites.NAME] tables
  skiplists/models.toml          [model_lists.NAME] tables (optional file)
  skiplists/platforms/NAME.toml  one platform each: [platform], [variants.NAME],
                                 [[ignore]], [[skip]], [[deselect]], [[flaky]]

What each table may say (keys, kinds, defaults) is declared in `schema` and checked by
`checker`; this module checks what a declaration cannot say (paths that must exist,
references between files, duplicates, colliding session names) and builds the model;
`entries` does the same for a platform file's entries.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from testmatrix.config import checker, schema, suiteparts, tomlpos
from testmatrix.config import paths as pathrules
from testmatrix.config.entries import Entries
from testmatrix.config.tables import Document
from testmatrix.config.tomlpos import Located
from testmatrix.core.model import (
    BuildkiteSettings,
    Exclude,
    GithubSettings,
    Location,
    ModelList,
    Platform,
    Suite,
    Variant,
    Workspace,
    base_of,
    frozen_map,
    is_glob,
)
from testmatrix.core.names import (
    HARDWARE,
    NAME_PATTERN,
    RESERVED_PLATFORMS,
    platform_description,
    session_name,
    suite_runs_on,
    variant_description,
)
from testmatrix.core.runs import expand
from testmatrix.errors import ConfigError, Problem, TestmatrixError, unknown
from testmatrix.jsonio import NotText, decode, read_bytes

VISIBLE_DEVICES = {
    "rocm": "HIP_VISIBLE_DEVICES",
    "cuda": "CUDA_VISIBLE_DEVICES",
    "none": "",
}

Values = dict[str, Any]  # one table's values, as checker.check returns them


def github_layer(values: Values, *, workspace: bool = False) -> Values:
    """One layer's checked GitHub Actions values as the model's fields: `github`,
    and in [workspace] where the workflow goes."""
    values = dict(values)
    out: Values = {}
    if workspace:
        out["workflow"] = values.pop("workflow")
    out["github"] = GithubSettings(**values)
    return out


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


class Reader:
    """Reads one workspace's skiplist files, noting every problem with its line."""

    def __init__(self, root: Path, skiplist_dir: Path, check_paths: bool = True):
        self.root = root
        self.dir = skiplist_dir
        self.check_paths = check_paths
        self.problems: list[Problem] = []
        # suites, platform files and model lists whose own errors are reported:
        # references to them would only repeat those
        self.broken_suites: set[str] = set()
        self.suites_unread = False  # suites.toml did not parse: no suite is known
        self.broken_platforms: set[str] = set()
        self.models_broken = False

    # -- reporting ---------------------------------------------------------------
    def error(self, doc: Located, key: tuple, message: str) -> None:
        line = tomlpos.line_of(doc.positions, *key)
        self.problems.append(Problem(doc.rel, line, message))

    def rel(self, path: Path) -> str:
        try:
            return os.path.relpath(path, Path.cwd())
        except ValueError:  # pragma: no cover - other drive on Windows
            return str(path)

    # -- reading -----------------------------------------------------------------
    def read(self, path: Path) -> Located | None:
        rel = self.rel(path)
        try:
            text = decode(read_bytes(path, "skiplist", shown=rel), rel, "skiplist")
        except NotText as exc:
            self.problems.append(Problem(rel, exc.line, exc.detail))
            return None
        except TestmatrixError as exc:  # unreadable, too big, not a regular file
            self.problems.append(Problem(rel, None, str(exc).removeprefix(f"{rel}: ")))
            return None
        try:
            data = tomlpos.parse(text)
        except Exception as exc:  # tomllib.TOMLDecodeError
            line, message = tomlpos.decode_error_line(exc)
            self.problems.append(Problem(rel, line, f"invalid TOML: {message}"))
            return None
        return Located(rel, data, tomlpos.locate(text))

    def check(self, document: Document, doc: Located) -> Values:
        """The file's values as its declaration reads them; their problems noted."""
        values, problems = checker.check(document, doc.data, doc.rel, doc.positions)
        self.problems += problems
        return values

    def normalise(
        self, doc: Located, key: tuple, path: str, *, base: str = ""
    ) -> str | None:
        """A workspace-relative posix path; None where refused (and said why)."""
        norm, why = pathrules.normalise(path, base)
        if norm is None:
            self.error(doc, key, why)
        return norm

    def escapes(self, norm: str) -> str | None:
        """Why a path written inside the workspace leads out of it, if it does."""
        return pathrules.escapes(self.root, norm) if self.check_paths else None

    # -- the files ---------------------------------------------------------------
    def load(self) -> Workspace:
        suites_doc = self.read(self.dir / "suites.toml")
        self.suites_unread = suites_doc is None
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
    def load_suites(self, doc: Located) -> tuple[Values, dict[str, Suite]]:
        doc = suiteparts.with_groups(self, doc)
        values = self.check(schema.SUITES_FILE, doc)
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
            **github_layer(workspace["github"], workspace=True),
        }
        suites: dict[str, Suite] = {}
        for name, table in values["suites"].items():
            suite = self.suite(doc, name, table)
            if suite is None:
                self.broken_suites.add(name)
            else:
                suites[name] = suite
        return settings, suites

    def suite(self, doc: Located, name: str, values: Values) -> Suite | None:
        key = ("suites", name)
        if values["runs"]:
            buildkite = buildkite_settings(values["buildkite"])
            return suiteparts.job_suite(self, doc, name, values, buildkite)
        paths = self.suite_paths(doc, key, name, values)
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
            durations=self.durations(doc, key, values["durations"]),
            buildkite=buildkite_settings(values["buildkite"]),
            overrides=suiteparts.overrides(doc, key, values["on"]),
            group=values["group"],
            **github_layer(values["github"]),
        )

    def durations(self, doc: Located, key: tuple, path: str | None) -> str | None:
        """The suite's durations file, workspace-relative; None where refused."""
        if path is None:
            return None
        norm = self.normalise(doc, key + ("durations",), path)
        escape = self.escapes(norm) if norm is not None else None
        if escape:
            self.error(doc, key + ("durations",), f"durations file {escape}")
            return None
        return norm

    def suite_paths(
        self, doc: Located, key: tuple, name: str, values: Values
    ) -> list[str]:
        """A suite's (or a run's) paths: normalised, existing, none inside another."""
        what = f"[suites.{name}]"
        given: list[tuple[str, tuple]]
        if values["path"] is not None:
            given = [(values["path"], key + ("path",))]
        else:
            listed = values["paths"] or ()
            given = [(p, key + ("paths", i)) for i, p in enumerate(listed)]
        paths: list[str] = []
        for path, pkey in given:
            file, sep, test = path.partition("::")  # a node id: its file's path
            norm = self.normalise(doc, pkey, file)
            if norm is None:
                continue
            if sep:
                if self.check_paths:
                    self.check_suite_path(doc, pkey, name, file, norm)
                paths.append(f"{norm}::{test}")
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
        return paths

    def check_suite_path(
        self, doc: Located, key: tuple, suite: str, path: str, norm: str
    ) -> None:
        """A suite's path must be a directory or a .py file (as pytest collects)."""
        if is_glob(norm):
            if expand(self.root, norm) == [norm]:
                self.error(doc, key, f"suite '{suite}': glob '{path}' matches nothing")
            return
        found = self.root / norm
        escape = self.escapes(norm)
        if escape:
            self.error(doc, key, f"suite '{suite}': {escape}")
            return
        if found.is_dir() or (found.is_file() and norm.endswith(".py")):
            return
        if found.exists():
            message = f"'{path}' is neither a directory nor a .py file"
        else:
            what = "file" if norm.endswith(".py") else "directory"
            # where it went: as for excludes (a recorded rename, the same name)
            top = norm.split("/")[0]
            hint = pathrules.did_you_mean_path(self.root, norm, "", within=top)
            message = f"{what} '{path}' does not exist{hint}"
        self.error(doc, key, f"suite '{suite}': {message}")

    def excludes(
        self,
        doc: Located,
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
                hint = pathrules.did_you_mean_path(self.root, target, base)
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
        self, doc: Located, suites: dict[str, Suite], platforms: dict[str, Platform]
    ) -> None:
        """Each place a suite names is a declared platform or platform:variant."""
        suiteparts.check_overrides(self, doc, suites, platforms)
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
    def load_models(self, doc: Located) -> dict[str, ModelList]:
        values = self.check(schema.MODELS_FILE, doc)
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
        doc: Located,
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
        values = self.check(schema.PLATFORM_FILE, doc)
        head = values["platform"]
        hardware = head["hardware"] or (name if name in HARDWARE else "none")
        variants = self.variants(doc, name, values["variants"])
        entries = Entries(self, doc, name, variants)
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
            **github_layer(head["github"]),
        )

    def variants(
        self, doc: Located, platform: str, tables: dict[str, Values]
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
                **github_layer(table["github"]),
            )
        return variants
