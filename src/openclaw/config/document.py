"""The config file as text plus its JSON5 syntax tree.

Parsing keeps the position of every token, so validation can name the line of a key and
`config set` can change one value without touching the rest of the text. A file that is not
JSON5 raises `ConfigError` with the line and a plain explanation (from `syntax_errors`:
arithmetic such as `8192 * 10`, a `[...]` placeholder copied from an example, a missing
comma, ...).

The JSON5 parser that keeps positions takes about 25 s a megabyte, so a file that is plain
JSON without repeated keys (most generated ones) is read with the standard library's parser
(a third of a second for 7 MB), and the syntax tree is built only when it is needed: to
name the line of a problem, or to edit the file. A file over `MAX_CONFIG_BYTES` or nested
deeper than `MAX_DEPTH` is refused with a clear error before any parser sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from json5 import loads as _json5_loads
from json5 import model as m
from json5.loader import ModelLoader
from json5.tokenizer import JSON5Token, tokenize
from json5.utils import JSON5DecodeError

from openclaw.config.paths_expr import Segment, format_path
from openclaw.errors import ConfigError
from openclaw.records import Record, record

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "Document",
    "Step",
    "key_name",
    "node_end",
    "node_start",
    "parse_literal",
]

Container = m.JSONObject | m.JSONArray
MAX_CONFIG_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 100  # of nested objects and lists
# What can hold a bracket that does not nest: strings and comments.
_NESTING = re.compile(r"""[\[\]{}]|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|//[^\n]*|/\*.*?\*/""", re.S)


class _Repeated(Exception):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Repeated
    return result


def _plain_json(text: str) -> dict[str, Any] | None:
    """The content of a plain-JSON file without repeated keys, else None (JSON5 syntax)."""
    try:
        value = json.loads(text, object_pairs_hook=_no_repeats)
    except (ValueError, _Repeated, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def check_size(text: str, source: Path) -> None:
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{source} is {size // (1024 * 1024)} MiB; a config file may be at most"
            f" {MAX_CONFIG_BYTES // (1024 * 1024)} MiB. Is it the right file?"
        )


def _too_deep(value: Any) -> bool:
    """True when `value` (parsed JSON) nests more than `MAX_DEPTH` containers."""
    level: list[Any] = [value]
    for _ in range(MAX_DEPTH):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def check_depth(text: str, source: Path) -> None:
    """A `ConfigError` for a file nested too deeply to be read safely (any JSON5 text)."""
    depth = 0
    for found in _NESTING.finditer(text):
        mark = found.group()
        if mark in ("{", "["):
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, found.start()) + 1
                raise ConfigError(
                    f"{source} is nested too deeply to read",
                    [
                        f"{source.name}:{line}: more than {MAX_DEPTH} objects or lists inside"
                        " each other; a config is only a few levels deep, so check that the"
                        " file is the one you meant"
                    ],
                )
        elif mark in ("}", "]"):
            depth -= 1


@record
class Step(Record):
    """One move down the tree: `container`'s member number `position` is `node`."""

    container: Container
    position: int
    node: m.Value


@dataclass
class Document:
    """Parsed text of one config file. `root` is None for an empty file."""

    text: str
    source: Path
    _tree: m.JSONObject | None
    duplicates: list[str] = field(default_factory=list)
    _plain: bool = False  # plain JSON: the tree is built on first use
    _value: dict[str, Any] | None = None  # its content, until `data()` hands it over

    @property
    def root(self) -> m.JSONObject | None:
        if self._plain:
            self._tree = type(self)._parsed(self.text, self.source)._tree
            self._plain = False
        return self._tree

    @classmethod
    def parse(cls, text: str, source: Path) -> Document:
        if not text.strip():
            return cls(text, source, None)
        check_size(text, source)
        value = _plain_json(text)
        if value is not None and not _too_deep(value):
            return cls(text, source, None, _plain=True, _value=value)
        check_depth(text, source)
        return cls._parsed(text, source)

    @classmethod
    def _parsed(cls, text: str, source: Path) -> Document:
        try:
            tree = _json5_loads(text, loader=ModelLoader())
        except JSON5DecodeError as error:
            from openclaw.config.syntax_errors import explain

            line, message = explain(text, error)
            raise ConfigError(
                f"{source} is not valid JSON5", [f"{source.name}:{line}: {message}"]
            ) from None
        except RecursionError:
            raise ConfigError(f"{source} is nested too deeply to read") from None
        value = tree.value
        if not isinstance(value, m.JSONObject):
            line = line_number(text, node_start(value))
            raise ConfigError(
                f"{source} is not a config object",
                [
                    f"{source.name}:{line}: the file must hold one object {{ ... }}, "
                    "not a list or a single value"
                ],
            )
        return cls(text, source, value)

    def data(self) -> dict[str, Any]:
        """The file's content as plain Python values (last duplicate key wins)."""
        if self._plain:
            self.duplicates.clear()
            value, self._value = self._value, None
            return value if value is not None else (_plain_json(self.text) or {})
        if self.root is None:
            return {}
        self.duplicates.clear()
        result: dict[str, Any] = self.plain(self.root, ())
        return result

    def resolve(self, segments: Sequence[Segment]) -> list[Step]:
        """Walk as far along `segments` as the file goes; one Step per segment found."""
        steps: list[Step] = []
        node: m.Value | None = self.root
        for segment in segments:
            found = _child(node, segment) if node is not None else None
            if found is None:
                break
            steps.append(found)
            node = found.node
        return steps

    def line_of(self, segments: Sequence[Segment]) -> int:
        """Line of the deepest key on the path that the file has (1 for the root)."""
        steps = self.resolve(segments)
        if not steps:
            return 1
        last = steps[-1]
        if isinstance(last.container, m.JSONObject):
            return line_number(self.text, node_start(last.container.keys[last.position]))
        return line_number(self.text, node_start(last.node))

    def line_at(self, index: int) -> int:
        return line_number(self.text, index)

    def significant_tokens(self) -> list[JSON5Token]:
        """All tokens except whitespace and comments, in order."""
        skip = {"WHITESPACE", "LINE_COMMENT", "BLOCK_COMMENT"}
        return [tok for tok in tokenize(self.text) if tok.type not in skip]

    def plain(self, node: m.Value, path: tuple[Segment, ...] = ()) -> Any:
        """A node's value as plain Python values; notes duplicate keys in `duplicates`."""
        if isinstance(node, m.JSONObject):
            out: dict[str, Any] = {}
            seen: dict[str, int] = {}
            for key, value in node.key_value_pairs:
                name = key_name(key)
                line = line_number(self.text, node_start(key))
                if name in seen:
                    where = format_path((*path, name))
                    self.duplicates.append(
                        f"{self.source.name}:{line} {where}: key appears twice "
                        f"(also line {seen[name]}); the later one is used"
                    )
                seen[name] = line
                out[name] = self.plain(value, (*path, name))
            return out
        if isinstance(node, m.JSONArray):
            return [self.plain(item, (*path, i)) for i, item in enumerate(node.values)]
        return scalar_value(node)


def parse_literal(text: str) -> Any:
    """A JSON5 literal as a Python value; raises ValueError when `text` is not one."""
    if not text.strip():
        raise ValueError("empty")
    try:
        tree = _json5_loads(text, loader=ModelLoader())
    except (JSON5DecodeError, RecursionError) as error:
        raise ValueError(str(error)) from None
    doc = Document(text, Path("value"), None)
    return doc.plain(tree.value, ())


def key_name(key: m.Key) -> str:
    if isinstance(key, m.Identifier):
        return key.name
    if isinstance(key, m.String):
        return key.characters
    raise TypeError(f"unexpected key node {key!r}")


def scalar_value(node: m.Value) -> Any:
    if isinstance(node, m.String):
        return node.characters
    if isinstance(node, m.UnaryOp):
        inner = scalar_value(node.value)
        return -inner if node.op == "-" else inner
    if isinstance(node, m.Infinity):
        return float("inf")  # the sign is applied by the enclosing UnaryOp
    if isinstance(node, m.Integer | m.Float | m.NaN | m.BooleanLiteral):
        return node.value
    if isinstance(node, m.NullLiteral):
        return None
    raise TypeError(f"unexpected value node {node!r}")


def node_start(node: m.Node) -> int:
    if node._tok is None:  # every node built by the parser has its tokens
        raise ValueError("node has no position")
    return node._tok.index


def node_end(node: m.Node) -> int:
    """Index just past the node's text."""
    tok = node._end_tok or node._tok
    if tok is None:
        raise ValueError("node has no position")
    return tok.end


def _child(node: m.Value, segment: Segment) -> Step | None:
    if isinstance(node, m.JSONObject) and isinstance(segment, str):
        match = None
        for position, key in enumerate(node.keys):
            if key_name(key) == segment:
                match = position  # the last of duplicate keys is the one in effect
        if match is None:
            return None
        return Step(node, match, node.values[match])
    if isinstance(node, m.JSONArray) and isinstance(segment, int) and segment < len(node.values):
        return Step(node, segment, node.values[segment])
    return None


def line_number(text: str, index: int) -> int:
    """The 1-based line of `text` that holds `index`."""
    return text.count("\n", 0, index) + 1


def iter_containers(node: m.Value) -> Iterator[Container]:
    """Every object and list in the tree, outermost first."""
    if isinstance(node, m.JSONObject | m.JSONArray):
        yield node
        for value in node.values:
            yield from iter_containers(value)
