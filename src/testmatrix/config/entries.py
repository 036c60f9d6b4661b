"""The entries of one platform file ([[ignore]], [[skip]], [[deselect]], [[flaky]]):
references checked, duplicates refused, each built into the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from testmatrix.config import paths as pathrules
from testmatrix.config.tomlpos import Located
from testmatrix.core.model import (
    DeselectEntry,
    FlakyEntry,
    IgnoreEntry,
    ModelList,
    Signature,
    SkipEntry,
    Suite,
    Variant,
)
from testmatrix.errors import unknown

Values = dict[str, Any]  # one table's values, as checker.check returns them


class Reading(Protocol):
    """What the entries need of the reader of the workspace's files."""

    root: Path
    check_paths: bool
    broken_suites: set[str]  # reported already: references to them are no news
    suites_unread: bool  # suites.toml did not parse: references are no news
    models_broken: bool

    def error(self, doc: Located, key: tuple, message: str) -> None: ...

    def normalise(
        self, doc: Located, key: tuple, path: str, *, base: str = ""
    ) -> str | None: ...

    def escapes(self, norm: str) -> str | None: ...


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether two entries' variants meet (none: the whole platform)."""
    return not a or not b or bool(set(a) & set(b))


class Entries:
    """The entries of one platform file: references checked, duplicates refused
    (two entries are duplicates when they hold on a common variant)."""

    def __init__(
        self, loader: Reading, doc: Located, platform: str, variants: dict[str, Variant]
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
            if name is None or name in loader.broken_suites or loader.suites_unread:
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
                    hint = pathrules.did_you_mean_path(loader.root, target, suite.base)
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
                    hint = pathrules.did_you_mean_path(loader.root, norm, ".")
                    self.error(
                        tkey,
                        f"test id '{nodeid}': file '{norm}' does not exist; was it "
                        f"renamed or deleted?{hint}",
                    )
                    continue
                if not any(s.holds(norm) for s in suites.values()):
                    if not loader.broken_suites and not loader.suites_unread:
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
