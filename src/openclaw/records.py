"""`Record`: the base of the frozen dataclasses that carry values (events, models, messages,
config sections).

A frozen dataclass gets an `__eq__`, a `__hash__` and a `__repr__` written for it as source code
and compiled when its class is created; on Python 3.11 that is most of the 0.6 ms each such class
costs at import, and an everyday command creates dozens of them. Records are declared
`@dataclass(frozen=True, eq=False, repr=False)` and take these three from here instead, with the
same meaning as dataclasses': equal when of the same class with equal compared fields
(`field(compare=False)` leaves one out), a hash of the hashed fields (`field(hash=...)`, else the
compared ones), and `Name(field=value, ...)` of the fields shown (`field(repr=False)` hides one).
Each class's field names are looked up once, on first use.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    Values = Callable[[Any], tuple[Any, ...]]

__all__ = ["Record"]

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
    """Equality, hash and text form for a frozen dataclass declared with `eq=False, repr=False`."""

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
