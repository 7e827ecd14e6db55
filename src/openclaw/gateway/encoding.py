"""JSON as the streams write it: compact objects, and one string alone.

A streamed chunk is the same for every token but its text, so each face keeps the bytes around
the text and encodes only the text per chunk (`string`); the output is byte for byte what
encoding the whole chunk would give.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["compact", "string"]

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact(data: Any) -> str:
    """`data` as JSON without spaces, non-ASCII text kept as is."""
    return _COMPACT.encode(data)


def string(text: str) -> str:
    """One string as a JSON string literal (quotes included), as `compact` writes it."""
    return _COMPACT.encode(text)
