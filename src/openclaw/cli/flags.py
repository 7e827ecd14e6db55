"""Flags of an everyday command read without argparse, when they are written out in full.

Building a command's argparse parser costs a few milliseconds (and loads shutil, bz2 and lzma
through its help formatter), as much as a warm `models list` spends on its own work. For the
commands that start most often, `read_flags` reads the plain forms itself and gives the same
values argparse would; anything else (`-h`, an abbreviation, a positional word, a missing or
refused value) is None, and the command hands its words to argparse, which answers as always.
Each command's tests compare both readings word for word.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping

    Arguments = argparse.Namespace | SimpleNamespace  # a command's flags, read by either reader

__all__ = ["read_flags"]


def read_flags(
    words: list[str],
    switches: tuple[str, ...],
    options: Mapping[str, Callable[[str], Any]],
    short: Mapping[str, str] | None = None,
    required: tuple[str, ...] = (),
    optional_words: Mapping[str, str] | None = None,
) -> SimpleNamespace | None:
    """`--switch` (True when present), `--option VALUE` and `--option=VALUE` (converted; the
    last one written wins), `short` names for options (`-m VALUE`), and words that are not
    flags for `optional_words` (attribute -> default, filled in order). The attribute of
    `--max-turns` is `max_turns`; an option not given is None, a switch False. None when a word
    is anything else, a value is missing or starts with "-", a converter raises ValueError, or
    a `required` option is missing."""
    args = SimpleNamespace(
        **{_dest(s): False for s in switches},
        **{_dest(o): None for o in options},
        **(optional_words or {}),
    )
    unfilled = list(optional_words or ())
    given: set[str] = set()
    remaining = iter(words)
    for word in remaining:
        if not word.startswith("-"):
            if not unfilled:
                return None  # one word too many: argparse says so
            setattr(args, unfilled.pop(0), word)
            continue
        if word in switches:
            setattr(args, _dest(word), True)
            continue
        name, equals, value = word.partition("=")
        if equals and not name.startswith("--"):
            return None  # `-m=...`: argparse's to read
        name = name if equals else (short or {}).get(name, name)
        if name not in options:
            return None
        if not equals:
            value = next(remaining, "-")
            if value.startswith("-"):
                return None
        try:
            setattr(args, _dest(name), options[name](value))
        except ValueError:
            return None
        given.add(name)
    if any(option not in given for option in required):
        return None
    return args


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")
