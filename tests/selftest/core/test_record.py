"""Frozen records behave as frozen dataclasses do: the same constructor, equality,
hash, repr, immutability and dataclasses' own functions, without compiled methods."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import types
from dataclasses import field

import pytest

from testmatrix.core.model import DeselectEntry, Location
from testmatrix.core.record import NamedTuple, _default, _Spec, field_names, record


@record
class Base:
    """A record with a keyword-only field, as the model's Entry has."""

    name: str
    tags: tuple[str, ...] = field(default=(), kw_only=True)


@record
class Child(Base):
    """A record extending another, with a default and a default factory."""

    size: int
    extra: str | None = None
    seen: dict[str, int] = field(default_factory=dict, compare=False)


def test_the_constructor_takes_positional_then_keyword_only_fields():
    made = Child("a", 3, tags=("x",))
    assert (made.name, made.size, made.extra, made.tags) == ("a", 3, None, ("x",))
    assert made.seen == {}
    assert Child("a", 3).seen is not Child("a", 3).seen  # a factory per instance


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (("a",), {}, "missing required argument: 'size'"),
        (("a", 1, None, {}, 5), {}, "takes 4 positional arguments but 5 were given"),
        (("a", 1), {"colour": 2}, "unexpected keyword argument 'colour'"),
        (("a", 1), {"name": "b"}, "multiple values for argument 'name'"),
    ],
)
def test_wrong_arguments_raise_type_error_naming_them(args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        Child(*args, **kwargs)


def test_keyword_only_fields_are_not_positional():
    with pytest.raises(TypeError, match="positional"):
        Base("a", ("x",))  # type: ignore[misc]


def test_equality_and_hash_follow_the_compared_fields_and_the_class():
    one, same = Child("a", 1, seen={"x": 1}), Child("a", 1)
    assert one == same and hash(one) == hash(same)  # `seen` is not compared
    assert one != Child("a", 2)
    assert one != Base("a")  # another class is never equal
    assert len({one, same, Child("b", 1)}) == 2


def test_fields_cannot_be_set_or_deleted():
    made = Child("a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.size = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del made.size  # type: ignore[misc]


def test_repr_fields_replace_and_asdict_are_dataclasses_own():
    made = Child("a", 1, tags=("t",))
    assert repr(made) == ("Child(name='a', tags=('t',), size=1, extra=None, seen={})")
    assert [f.name for f in dataclasses.fields(made)] == [
        "name",
        "tags",
        "size",
        "extra",
        "seen",
    ]
    assert dataclasses.replace(made, size=5) == Child("a", 5, tags=("t",))
    assert dataclasses.asdict(made)["tags"] == ("t",)
    assert dataclasses.is_dataclass(made)


def test_the_model_records_keep_their_methods():
    where = Location("skiplists/platforms/rocm.toml", 3)
    entry = DeselectEntry("rocm", "why", None, None, where, "tests/a.py::t")
    assert str(where) == "skiplists/platforms/rocm.toml:3"  # its own __str__
    assert entry.subject == "'tests/a.py::t'" and entry.variants == ()
    assert entry == dataclasses.replace(entry) and hash(entry) == hash(
        dataclasses.replace(entry)
    )


def test_a_record_class_is_declared_to_dataclasses_only_when_they_read_it():
    @record
    class Late:
        """Declared only when dataclasses' functions read its fields."""

        name: str
        tags: tuple[str, ...] = field(default_factory=tuple)

    assert Late("a") == Late("a", ()) and Late("a").tags == ()
    assert field_names(Late) == ("name", "tags")
    assert not isinstance(Late.__dict__["__dataclass_fields__"], dict)  # not yet
    assert [f.name for f in dataclasses.fields(Late)] == ["name", "tags"]
    assert isinstance(Late.__dict__["__dataclass_fields__"], dict)  # now declared
    assert "tags" not in Late.__dict__  # a factory's field: no class attribute
    assert Late("b").tags == () and Late("b") != Late("a")  # as before


@pytest.mark.parametrize("module", ["testmatrix.core.model", "testmatrix.core.fate"])
def test_a_records_own_reading_of_its_fields_is_what_dataclasses_declares(
    module, monkeypatch
):
    """The constructor and the codec read a class's fields without declaring it;
    they read what dataclasses then declares (each class of the module executed
    afresh, so that none is declared yet)."""
    fresh = _fresh(module, monkeypatch)
    records = [
        c
        for c in vars(fresh).values()
        if isinstance(c, type) and c.__module__ == fresh.__name__
        if "__record__" in c.__dict__
    ]
    assert len(records) >= 3
    for cls in records:
        spec = _Spec(cls)
        assert not isinstance(cls.__dict__["__dataclass_fields__"], dict), cls
        declared = dataclasses.fields(cls)
        assert spec.fields == tuple(f.name for f in declared), cls
        init = [f for f in declared if f.init]
        assert spec.names == tuple(f.name for f in init)
        assert spec.positional == tuple(f.name for f in init if not f.kw_only)
        assert spec.rest_after(0) == tuple((f.name, _default(f)) for f in init)


def _fresh(module: str, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    found = importlib.util.find_spec(module)
    assert found is not None and found.origin is not None
    name = f"_fresh_{module.replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(name, found.origin)
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    # dataclasses reads the module of a class it declares
    monkeypatch.setitem(sys.modules, name, fresh)
    spec.loader.exec_module(fresh)
    return fresh


class Pair(NamedTuple):
    """A named tuple of core.record's class syntax: typing's, annotations as written."""

    first: str
    rest: tuple[Pair, ...] = ()

    def depth(self) -> int:
        return 1 + max((p.depth() for p in self.rest), default=0)

    @classmethod
    def of(cls, first: str) -> Pair:
        return cls(first)


def test_a_named_tuple_is_typings_with_its_annotations_as_written():
    pair = Pair("a", (Pair.of("b"),))
    assert pair == ("a", (("b", ()),)) and isinstance(pair, tuple)
    assert (pair.first, pair.depth(), Pair._fields) == ("a", 2, ("first", "rest"))
    assert Pair._field_defaults == {"rest": ()} and Pair("c").rest == ()
    assert pair._replace(first="z").first == "z" and Pair.__doc__.startswith("A named")
    assert Pair.__annotations__ == {"first": "str", "rest": "tuple[Pair, ...]"}
    assert (Pair.__module__, Pair.__qualname__) == (__name__, "Pair")


def test_a_named_tuple_refuses_what_typing_refuses():
    with pytest.raises(TypeError, match="without a default follows"):

        class Late(NamedTuple):
            early: int = 0
            late: int

    with pytest.raises(AttributeError, match="_replace"):

        class Clash(NamedTuple):
            value: int

            def _replace(self) -> None: ...

    with pytest.raises(TypeError, match="only inherit"):

        class Mixed(NamedTuple, dict):  # type: ignore[misc]
            value: int
