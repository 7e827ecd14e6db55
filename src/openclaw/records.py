"""`Record` and `record`: the read-only dataclasses that carry values (events, models, messages,
config sections).

On Python 3.11 a dataclass has its methods written as source code and compiled when its class is
created, and a frozen one gets two more (an `__setattr__` and a `__delattr__` that refuse):
0.7 to 1 ms per class on a slow machine, where an everyday command creates eighty of them before
it does anything. A record is declared with `@record` (or `@record(slots=True)`), which makes a
plain dataclass with only its `__init__` compiled, and takes `__eq__`, `__hash__` and `__repr__`
from `Record` with dataclasses' meaning: equal when of the same class with equal compared fields
(`field(compare=False)` leaves one out), a hash of the hashed fields (`field(hash=...)`, else the
compared ones), and `Name(field=value, ...)` of the fields shown (`field(repr=False)` hides one).

A record is read-only for the type checker (`record` is a dataclass transform with
`frozen_default=True`, so `mypy --strict` refuses an assignment to a field, in the package and in
whatever uses it) rather than at run time: a guard on every assignment would make each record
several times slower to create (1.2 us for three fields frozen, 0.4 us without, 2.8 us with the
cheapest guard), and a stream creates one per chunk. A changed value is a new record:
`dataclasses.replace(record, field=value)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

Values = Callable[[Any], tuple[Any, ...]]
Kind = TypeVar("Kind", bound=type)

__all__ = ["Record", "record"]

# class -> (the compared fields' values, the hashed fields' values, the names shown)
_FIELDS: dict[type, tuple[Values, Values, tuple[str, ...]]] = {}


def _fields(cls: type) -> tuple[Values, Values, tuple[str, ...]]:
    found = _FIELDS.get(cls)
    if found is None:
        fields = dataclasses.fields(cls)
        compared = [f.name for f in fields if f.compare]
        hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
        shown = tuple(f.name for f in fields if f.repr)
        found = _FIELDS[cls] = (_values(compared), _values(hashed), shown)
    return found


def _values(names: list[str]) -> Values:
    """A function giving the tuple of these attributes of a record (one C call)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        name = names[0]
        return lambda record: (getattr(record, name),)
    return lambda _record: ()


class Record:
    """Equality, hash and text form of a record (a class declared with `@record`)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if other.__class__ is not self.__class__:
            return NotImplemented
        compared = _fields(self.__class__)[0]
        return bool(compared(self) == compared(other))

    def __hash__(self) -> int:
        return hash((self.__class__, _fields(self.__class__)[1](self)))

    def __repr__(self) -> str:
        shown = _fields(self.__class__)[2]
        inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inside})"


@overload
def record(cls: Kind, /) -> Kind: ...
@overload
def record(*, slots: bool = False, kw_only: bool = False) -> Callable[[Kind], Kind]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(
    cls: Kind | None = None, /, *, slots: bool = False, kw_only: bool = False
) -> Kind | Callable[[Kind], Kind]:
    """Make a `Record` subclass a read-only dataclass: `@record` or `@record(slots=True)`."""

    def make(kind: Kind) -> Kind:
        if not issubclass(kind, Record):
            raise TypeError(f"{kind.__qualname__} is declared a record but is not a Record")
        made = dataclasses.dataclass(kind, eq=False, repr=False, slots=slots, kw_only=kw_only)
        return made  # type: ignore[return-value]

    return make if cls is None else make(cls)
