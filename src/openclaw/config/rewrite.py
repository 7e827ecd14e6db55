"""Change one value in JSON5 text and leave every other byte alone.

`set_in_text` replaces a value's span, or inserts a missing key before its object's closing brace
(creating intermediate objects) with the indentation, key quoting and trailing-comma habits the
file already has. `remove_from_text` deletes a key with its comma, and the whole line when the key
had a line to itself. Comments and formatting elsewhere survive byte for byte.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from json5 import model as m

from openclaw.config.document import Document, Step, iter_containers, key_name, node_end, node_start
from openclaw.config.paths_expr import Segment, format_path
from openclaw.errors import ConfigError
from openclaw.records import Record, record

__all__ = [
    "Style",
    "detect_style",
    "remove_from_text",
    "rename_key",
    "render_value",
    "set_in_text",
]

_BARE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
Edit = tuple[int, int, str]  # replace text[start:end] with the string


@record
class Style(Record):
    """How a config file is written: indentation, quoted keys, trailing commas, line ends."""

    unit: str = "  "
    quote_keys: bool = True
    trailing_commas: bool = False
    newline: str = "\n"


def detect_style(doc: Document) -> Style:
    """Indentation unit, key quoting and trailing commas as the file already uses them."""
    text = doc.text
    newline = "\r\n" if "\r\n" in text else "\n"
    indents = [len(w) for w in re.findall(r"(?m)^( +)\S", text)]
    unit = (
        "\t"
        if re.search(r"(?m)^\t+\S", text) and not indents
        else " " * (min(indents) if indents else 2)
    )
    quoted = bare = 0
    trailing = False
    if doc.root is not None:
        for container in iter_containers(doc.root):
            if isinstance(container, m.JSONObject):
                for key in container.keys:
                    if isinstance(key, m.Identifier):
                        bare += 1
                    else:
                        quoted += 1
            if container.trailing_comma is not None and _multiline(doc, container):
                trailing = True
    return Style(
        unit=unit or "  ", quote_keys=quoted >= bare, trailing_commas=trailing, newline=newline
    )


def render_value(value: Any, style: Style, indent: str = "", *, compact: bool = False) -> str:
    """JSON5 text for a Python value; objects and lists span lines unless `compact`."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{_key(k, style)}: {render_value(v, style, indent + style.unit, compact=compact)}"
            for k, v in value.items()
        ]
        return _block("{", "}", items, style, indent, compact)
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        simple = all(not isinstance(v, dict | list | tuple) for v in value)
        items = [render_value(v, style, indent + style.unit, compact=compact) for v in value]
        if simple and sum(len(i) for i in items) < 60:
            return "[" + ", ".join(items) + "]"
        return _block("[", "]", items, style, indent, compact)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value, ensure_ascii=False)


def set_in_text(doc: Document, segments: Sequence[Segment], value: Any) -> str:
    """The text with `value` at `segments`; raises ConfigError when the path cannot hold it."""
    if not segments:
        raise ConfigError("name the key to set, e.g. models.providers.ollama.baseUrl")
    style = detect_style(doc)
    if doc.root is None:
        doc = Document.parse("{}" + style.newline, doc.source)
    assert doc.root is not None
    steps = doc.resolve(segments)
    _refuse_duplicates(doc, steps)
    if len(steps) == len(segments):
        return _apply(doc.text, [_replace(doc, steps[-1], value, style)])
    container: m.Value = steps[-1].node if steps else doc.root
    where = format_path(segments[: len(steps)]) or "the top level"
    first, rest = segments[len(steps)], segments[len(steps) + 1 :]
    new_value = _nest(segments, len(steps) + 1, rest, value)
    if isinstance(container, m.JSONObject):
        if not isinstance(first, str):
            raise ConfigError(f"{where} is an object: use a key after it, not [{first}]")
        return _apply(doc.text, _insert(doc, container, first, new_value, style))
    if isinstance(container, m.JSONArray):
        if not isinstance(first, int):
            raise ConfigError(f"{where} is a list: use an index such as [0] after it, not .{first}")
        size = len(container.values)
        if first != size:
            raise ConfigError(
                f"{format_path(segments[: len(steps) + 1])} is past the end of the list "
                f"({size} item{'s' if size != 1 else ''}): use [{size}] to append"
            )
        return _apply(doc.text, _insert(doc, container, None, new_value, style))
    raise ConfigError(
        f"{where} holds {_kind(container)}, not an object or a list: "
        f"set {where} to an object first (or unset it)"
    )


def rename_key(doc: Document, segments: Sequence[Segment], new_name: str) -> str:
    """The text with the key at `segments` renamed, quoted the way the old one was."""
    steps = doc.resolve(segments)
    if len(steps) < len(segments) or not isinstance(steps[-1].container, m.JSONObject):
        raise ConfigError(f"{format_path(segments)} is not a key in {doc.source}")
    key = steps[-1].container.keys[steps[-1].position]
    if isinstance(key, m.Identifier) and _BARE_KEY.fullmatch(new_name):
        rendered = new_name
    elif isinstance(key, m.SingleQuotedString):
        rendered = "'" + json.dumps(new_name, ensure_ascii=False)[1:-1].replace("'", "\\'") + "'"
    else:
        rendered = json.dumps(new_name, ensure_ascii=False)
    return _apply(doc.text, [(node_start(key), node_end(key), rendered)])


def remove_from_text(doc: Document, segments: Sequence[Segment]) -> str | None:
    """The text without the key or list item at `segments`; None when it is not there."""
    steps = doc.resolve(segments)
    if not segments or len(steps) < len(segments):
        return None
    _refuse_duplicates(doc, steps)
    step = steps[-1]
    container, i = step.container, step.position
    text = doc.text
    start = node_start(container.keys[i] if isinstance(container, m.JSONObject) else step.node)
    end = node_end(step.node)
    tokens = doc.significant_tokens()
    after = next((t for t in tokens if t.index >= end), None)
    has_comma = after is not None and after.type == "COMMA"
    cut = after.end if has_comma and after is not None else end
    open_end, close = node_start(container) + 1, node_start_of_close(container)
    if len(container.values) == 1 and not (text[open_end:start] + text[cut:close]).strip():
        return _apply(text, [(open_end, close, "")])  # the only entry: leave `{}` / `[]`
    edits: list[Edit] = []
    if not has_comma and i > 0:
        comma = next((t for t in reversed(tokens) if t.index < start), None)
        if comma is not None and comma.type == "COMMA":
            if "\n" not in text[comma.end : start]:
                return _apply(text, [(comma.index, cut, "")])
            edits.append((comma.index, comma.end, ""))
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", cut)
    line_end = len(text) if line_end == -1 else line_end
    rest = text[cut:line_end].strip()
    if not text[line_start:start].strip() and (not rest or rest.startswith("//")):
        edits.append((line_start, min(line_end + 1, len(text)), ""))
    else:
        spaces = len(text[cut:]) - len(text[cut:].lstrip(" \t"))
        edits.append((start, cut + spaces, ""))
    return _apply(text, edits)


def node_start_of_close(container: m.JSONObject | m.JSONArray) -> int:
    """Index of the closing `}` or `]`."""
    return node_end(container) - 1


# --- helpers -----------------------------------------------------------------------------------


def _apply(text: str, edits: Sequence[Edit]) -> str:
    for start, end, replacement in sorted(edits, key=lambda e: e[0], reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _replace(doc: Document, step: Step, value: Any, style: Style) -> Edit:
    node = step.node
    start, end = node_start(node), node_end(node)
    compact = not _multiline(doc, step.container)
    rendered = render_value(value, style, _line_indent(doc.text, start), compact=compact)
    return (start, end, rendered)


def _insert(
    doc: Document,
    container: m.JSONObject | m.JSONArray,
    name: str | None,
    value: Any,
    style: Style,
) -> list[Edit]:
    text, nl = doc.text, style.newline
    open_index, close = node_start(container), node_start_of_close(container)
    close_indent = _line_indent(text, close)
    close_on_own_line = not text[text.rfind("\n", 0, close) + 1 : close].strip()

    def entry(indent: str, compact: bool) -> str:
        rendered = render_value(value, style, indent, compact=compact)
        return rendered if name is None else f"{_key(name, style)}: {rendered}"

    if not container.values:
        if not text[open_index + 1 : close].strip():  # empty and no comments: rewrite `{}`
            outer = _line_indent(text, open_index)
            inner = outer + style.unit
            comma = "," if style.trailing_commas else ""
            opener, closer = ("{", "}") if isinstance(container, m.JSONObject) else ("[", "]")
            body = f"{opener}{nl}{inner}{entry(inner, False)}{comma}{nl}{outer}{closer}"
            return [(open_index, close + 1, body)]
        if close_on_own_line:
            inner = close_indent + style.unit
            line_start = text.rfind("\n", 0, close) + 1
            return [(line_start, line_start, f"{inner}{entry(inner, False)}{nl}")]
        return [(close, close, f" {entry('', True)} ")]
    last_value = container.values[-1]
    trailing = container.trailing_comma
    if close_on_own_line:
        first_of_last = container.keys[-1] if isinstance(container, m.JSONObject) else last_value
        last_start = node_start(first_of_last)
        if not text[text.rfind("\n", 0, last_start) + 1 : last_start].strip():
            indent = _line_indent(text, last_start)
        else:
            indent = close_indent + style.unit
        line_start = text.rfind("\n", 0, close) + 1
        edits: list[Edit] = []
        if trailing is None:
            edits.append((node_end(last_value), node_end(last_value), ","))
        tail = "," if trailing is not None else ""
        edits.append((line_start, line_start, f"{indent}{entry(indent, False)}{tail}{nl}"))
        return edits
    if trailing is not None:
        position = node_end(trailing)
        return [(position, position, f" {entry('', True)},")]
    position = node_end(last_value)
    return [(position, position, f", {entry('', True)}")]


def _nest(segments: Sequence[Segment], offset: int, rest: Sequence[Segment], value: Any) -> Any:
    """Wrap `value` in the objects and lists that `rest` names (all new)."""
    for depth in range(len(rest) - 1, -1, -1):
        segment = rest[depth]
        if isinstance(segment, int):
            if segment != 0:
                path = format_path(segments[: offset + depth + 1])
                raise ConfigError(f"{path}: a new list starts at [0], not [{segment}]")
            value = [value]
        else:
            value = {segment: value}
    return value


def _refuse_duplicates(doc: Document, steps: Sequence[Step]) -> None:
    for step in steps:
        if isinstance(step.container, m.JSONObject):
            name = key_name(step.container.keys[step.position])
            lines = [doc.line_at(node_start(k)) for k in step.container.keys if key_name(k) == name]
            if len(lines) > 1:
                raise ConfigError(
                    f"{doc.source} has the key `{name}` more than once (lines "
                    f"{', '.join(map(str, lines))}): remove the extra ones, then retry"
                )


def _key(name: str, style: Style) -> str:
    if not style.quote_keys and _BARE_KEY.fullmatch(name):
        return name
    return json.dumps(name, ensure_ascii=False)


def _block(
    opener: str, closer: str, items: list[str], style: Style, indent: str, compact: bool
) -> str:
    if compact:
        inner = ", ".join(items)
        return f"{opener} {inner} {closer}" if opener == "{" else f"{opener}{inner}{closer}"
    inner_indent = indent + style.unit
    body = ("," + style.newline).join(inner_indent + item for item in items)
    comma = "," if style.trailing_commas else ""
    return f"{opener}{style.newline}{body}{comma}{style.newline}{indent}{closer}"


def _line_indent(text: str, index: int) -> str:
    line_start = text.rfind("\n", 0, index) + 1
    line = text[line_start:index]
    return line[: len(line) - len(line.lstrip(" \t"))]


def _multiline(doc: Document, container: m.JSONObject | m.JSONArray) -> bool:
    return "\n" in doc.text[node_start(container) : node_end(container)]


def _kind(node: m.Value) -> str:
    if isinstance(node, m.String):
        return "a string"
    if isinstance(node, m.BooleanLiteral):
        return "true/false"
    if isinstance(node, m.NullLiteral):
        return "null"
    return "a number"
