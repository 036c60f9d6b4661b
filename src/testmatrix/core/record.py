"""Frozen records made without compiling code at import.

`dataclasses.dataclass(frozen=True)` writes each class's __init__, __repr__, __eq__,
__hash__, __setattr__ and __delattr__ as source and compiles it: about 1.5 ms a
class on a loaded 2-core machine, 30 ms for the model alone, paid by every pytest
run that loads the plugin. `record` keeps dataclasses' declarations (`field`,
`fields`, `replace`, `asdict`, `kw_only`, defaults and factories) and gives the
class the same methods as shared functions that read its field list instead. That
list is read from the class's annotations when it is first used; dataclasses
declares the class only when one of its functions asks. `NamedTuple` is typing's, but
for the check of each field's annotation (see `_TupleMeta`).
"""

from __future__ import annotations

import collections
import dataclasses
import inspect  # dataclasses imports it too
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

_T = TypeVar("_T")

if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple

    from typing_extensions import dataclass_transform
else:  # typing has it from 3.11 on; only type checkers read it

    def dataclass_transform(**kwargs: Any) -> Callable[[_T], _T]:
        return lambda decorated: decorated


_MISSING = dataclasses.MISSING


# (name, init, kw_only, compare, default: (is a factory, value) or None)
_Found = tuple[str, bool, bool, bool, "tuple[bool, Any] | None"]


class _Spec:
    """A record class's fields, read once when the class is first used."""

    __slots__ = ("fields", "found", "keyword", "names", "positional", "rest", "values")

    def __init__(self, cls: type) -> None:
        scanned = _scan(cls)
        self.fields = tuple(f[0] for f in scanned)  # every field, in order
        self.found = [f for f in scanned if f[1]]
        self.names = tuple(f[0] for f in self.found)
        self.positional = tuple(f[0] for f in self.found if not f[2])
        self.keyword = frozenset(self.names)
        # by how many were given positionally (`rest_after`, filled as asked: a
        # class the cache's decoder reads only by its field names needs none)
        self.rest: dict[int, tuple[tuple[str, tuple[bool, Any] | None], ...]] = {}
        compared = [f[0] for f in scanned if f[3]]
        self.values: Callable[[Any], tuple[Any, ...]] = _values(compared)

    def rest_after(self, n: int) -> tuple[tuple[str, tuple[bool, Any] | None], ...]:
        """The fields not among the first `n` positional ones, each with its
        default (a value, or a factory to call), or None where it must be given."""
        given = set(self.positional[:n])
        rest = self.rest[n] = tuple(
            (f[0], f[4]) for f in self.found if f[0] not in given
        )
        return rest


def _scan(cls: type) -> list[_Found]:
    """The record's fields as dataclasses declares them (the bases' first, a
    redeclared field where it first stood), read from the annotations and class
    attributes without declaring the class: what its first use needs, at a tenth
    of the cost. Classes dataclasses has declared are read from their fields; an
    annotation this does not read (ClassVar, InitVar, KW_ONLY) has dataclasses
    declare the class."""
    found: dict[str, _Found] = {}
    for base in reversed(cls.__mro__):
        if "__record__" not in base.__dict__:
            continue  # not a record: dataclasses takes no fields from it either
        if isinstance(base.__dict__.get("__dataclass_fields__"), dict):
            found.update((f.name, _read(f)) for f in dataclasses.fields(base))
            continue
        for name, note in inspect.get_annotations(base).items():
            if not isinstance(note, str) or _special(note):
                _declare(cls)
                return [_read(f) for f in dataclasses.fields(cls)]
            value = base.__dict__.get(name, _MISSING)
            if isinstance(value, dataclasses.Field):
                found[name] = (name, *_read(value)[1:])
            else:
                default = None if value is _MISSING else (False, value)
                found[name] = (name, True, False, True, default)
    return list(found.values())


def _special(note: str) -> bool:
    """An annotation that declares no plain field: `typing.ClassVar[int]`,
    `InitVar[str]`, `dataclasses.KW_ONLY`."""
    name = note.split("[", 1)[0].strip().rsplit(".", 1)[-1]
    return name in ("ClassVar", "InitVar", "KW_ONLY")


def _read(f: dataclasses.Field[Any]) -> _Found:
    kw_only = f.kw_only is True  # MISSING: the class's default, False for records
    return (f.name, f.init, kw_only, bool(f.compare), _default(f))


def _default(f: dataclasses.Field[Any]) -> tuple[bool, Any] | None:
    """(is a factory, the default or its factory), or None: no default."""
    if f.default is not _MISSING:
        return (False, f.default)
    if f.default_factory is not _MISSING:
        return (True, f.default_factory)
    return None


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A record's compared values as a tuple (attrgetter's, for two or more)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    return lambda obj: ()


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    spec: _Spec = type(self).__record__ or _spec(type(self))
    setter = object.__setattr__
    if len(args) > len(spec.positional):
        raise TypeError(
            f"{type(self).__qualname__}() takes {len(spec.positional)} positional "
            f"arguments but {len(args)} were given"
        )
    for key, value in zip(spec.positional, args, strict=False):
        setter(self, key, value)
    if kwargs:
        _keywords(self, spec, args, kwargs)
    rest = spec.rest.get(len(args))
    for key, default in spec.rest_after(len(args)) if rest is None else rest:
        if key in kwargs:
            continue
        if default is None:
            raise TypeError(
                f"{type(self).__qualname__}() missing required argument: {key!r}"
            )
        setter(self, key, default[1]() if default[0] else default[1])


def _keywords(self: Any, spec: _Spec, args: tuple[Any, ...], kwargs: Any) -> None:
    for key, value in kwargs.items():
        if key not in spec.keyword:
            raise TypeError(
                f"{type(self).__qualname__}() got an unexpected keyword argument "
                f"{key!r}"
            )
        if key in spec.positional[: len(args)]:
            raise TypeError(
                f"{type(self).__qualname__}() got multiple values for argument {key!r}"
            )
        object.__setattr__(self, key, value)


def _spec(cls: type) -> _Spec:
    """The class's fields, read when it is first used: a record class that a run
    never makes costs no more than its declaration."""
    spec: _Spec | None = cls.__dict__["__record__"]
    if spec is None:
        spec = _Spec(cls)
        setattr(cls, "__record__", spec)  # noqa: B010 - the class, not an instance
    return spec


def _repr(self: Any) -> str:
    spec = type(self).__record__ or _spec(type(self))
    shown = ", ".join(f"{key}={getattr(self, key)!r}" for key in spec.names)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: object) -> bool:
    spec = type(self).__record__ or _spec(type(self))
    if other.__class__ is not self.__class__:
        return NotImplemented
    return bool(spec.values(self) == spec.values(other))


def _hash(self: Any) -> int:
    return hash((type(self).__record__ or _spec(type(self))).values(self))


def _frozen(self: Any, name: str, value: Any = None) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


class _Undeclared:
    """A record class's `__dataclass_fields__` until dataclasses' functions read
    them (`fields`, `replace`, `asdict`, `is_dataclass`): dataclasses then declares
    the class (0.2 ms a class on this machine, which a run's records never need:
    they read their fields with `_scan`) and this gives way to the fields."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        _declare(self.cls)
        return self.cls.__dict__["__dataclass_fields__"]


def _declare(cls: type) -> None:
    if isinstance(cls.__dict__.get("__dataclass_fields__"), _Undeclared):
        delattr(cls, "__dataclass_fields__")
        dataclasses.dataclass(init=False, repr=False, eq=False)(cls)


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type[_T]) -> type[_T]:
    """A frozen dataclass whose methods are shared functions (see the module)."""
    cls.__dataclass_fields__ = _Undeclared(cls)  # type: ignore[attr-defined]
    cls.__record__ = None  # type: ignore[attr-defined]  # its own: _spec
    for name, method in (
        ("__init__", _init),
        ("__repr__", _repr),
        ("__eq__", _eq),
        ("__hash__", _hash),
        ("__setattr__", _frozen),
        ("__delattr__", _frozen),
    ):
        if name not in cls.__dict__:
            setattr(cls, name, method)
    return cls


def restore(cls: type[_T], values: dict[str, Any]) -> _T:
    """A record of `cls` holding `values`, every one of its fields by name, made
    without its constructor (a cache's decoder, which has checked the names: a
    tenth of the constructor's cost, for hundreds of records at start-up)."""
    made = object.__new__(cls)
    setter = object.__setattr__  # as the constructor sets them (see `_made`)
    for name, value in values.items():
        setter(made, name, value)
    return made


def field_names(cls: type) -> tuple[str, ...]:
    """A record class's fields, in declaration order, without declaring it."""
    return (cls.__dict__["__record__"] or _spec(cls)).fields


# what typing.NamedTuple's class syntax refuses, and the names it keeps for itself
_PROHIBITED = frozenset(
    ("__new__", "__init__", "__slots__", "__getnewargs__", "_fields")
    + ("_field_defaults", "_make", "_replace", "_asdict", "_source")
)
_SPECIAL = frozenset(("__module__", "__name__", "__annotations__"))
_namedtuple: Callable[..., Any] = collections.namedtuple  # defaults read at run time


class _TupleMeta(type):
    """`class X(NamedTuple)` made as typing.NamedTupleMeta makes it (3.11), but for
    `typing._type_check` of each annotation: under `from __future__ import
    annotations` each one is a string, which typing compiles into a ForwardRef, about
    0.1 M instructions a field and 28 fields in every run that loads the plugin. The
    annotations stay as written (`typing.get_type_hints` reads either)."""

    def __new__(cls, typename: str, bases: tuple[type, ...], ns: dict[str, Any]) -> Any:
        if bases != (NamedTuple,):
            raise TypeError("can only inherit from a NamedTuple type")
        notes = ns.get("__annotations__", {})
        defaults = [name for name in notes if name in ns]
        if defaults != list(notes)[len(notes) - len(defaults) :]:
            raise TypeError(
                f"{typename}: a field without a default follows one with a default"
            )
        made = _namedtuple(
            typename,
            list(notes),
            defaults=[ns[name] for name in defaults],
            module=ns["__module__"],
        )
        made.__annotations__ = made.__new__.__annotations__ = dict(notes)
        for key, value in ns.items():
            if key in _PROHIBITED:
                raise AttributeError(f"Cannot overwrite NamedTuple attribute {key}")
            if key not in _SPECIAL and key not in made._fields:
                setattr(made, key, value)
        return made


if not TYPE_CHECKING:
    NamedTuple = type.__new__(_TupleMeta, "NamedTuple", (), {})
