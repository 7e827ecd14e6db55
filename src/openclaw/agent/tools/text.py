"""Small text helpers the tools share: telling binary from text, and sizes in words."""

from __future__ import annotations

import codecs

__all__ = ["SNIFF_SIZE", "format_size", "looks_binary"]

SNIFF_SIZE = 8192  # bytes looked at to decide whether a file is text

# Control bytes that do not turn up in text files (tab, newlines, form feed and escape do).
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13, 27}


def looks_binary(sample: bytes) -> bool:
    """True when `sample` (the start of a file or body) is not text: it has a NUL byte, or it
    is not UTF-8 and more than a tenth of it is control bytes."""
    if b"\0" in sample:
        return True
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        controls = sum(1 for byte in sample if byte in _CONTROL)
        return controls * 10 > len(sample)
    return False


def format_size(size: int) -> str:
    """`512 bytes`, `64 KiB`, `1.5 MiB`."""
    if size < 1024:
        return f"{size} bytes"
    value, unit = (size / 1024, "KiB") if size < 1024 * 1024 else (size / 1024 / 1024, "MiB")
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"
