"""A JSON5 syntax error in plain words: the line, what is wrong and what to do.

The parser's own messages name tokens (`Illegal character`, `Was expecting RBRACE`); here they
become what a person fixing the file needs, with the common cases recognised: arithmetic such
as `8192 * 10`, a `[...]` placeholder copied from an example, an unterminated string, a missing
comma. Loaded only when a file fails to parse.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from typing import Any

from json5.tokenizer import JSON5Token
from json5.utils import JSON5DecodeError

from openclaw.config.document import line_number

__all__ = ["explain"]

_NUMBER = r"\d+(?:\.\d+)?"
_ARITHMETIC = re.compile(rf"-?{_NUMBER}(?:\s*[*/+\-]\s*-?{_NUMBER})+")
_ILLEGAL = re.compile(r"Illegal character '(.+)' at index (\d+)")
_EOF = re.compile(r"Unexpected EOF.*?(?:Was expecting (.+))?$")
_EXPECTING = re.compile(r"Was expecting (.+)$")
_WORDS = {
    "COMMA": "`,`",
    "RBRACE": "`}`",
    "RBRACKET": "`]`",
    "COLON": "`:`",
    "key": "a key",
    "value": "a value",
}


def explain(text: str, error: JSON5DecodeError) -> tuple[int, str]:
    """Turn the parser's message into (line, what is wrong and what to do)."""
    primary = _primary_message(str(error.msg))
    token = error.token if isinstance(error.token, JSON5Token) else None
    index: int | None = token.index if token is not None and token.index is not None else None
    illegal = _ILLEGAL.search(primary)
    if illegal:
        index = int(illegal.group(2))
    if index is None:
        if "EOF" in primary and text.strip():
            expecting = _EXPECTING.search(primary)
            return line_number(text, len(text.rstrip())), _eof_message(
                expecting.group(1) if expecting else ""
            )
        return 1, "the file has no value: write {} for an empty config"
    line = line_number(text, index)
    for explain in _EXPLAINERS:
        message = explain(text, index, primary, token)
        if message:
            return line, message
    return line, _strip_jargon(primary)


def _primary_message(message: str) -> str:
    if message.startswith("There were multiple errors"):
        lines = message.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("The primary error was") and i + 1 < len(lines):
                return lines[i + 1].strip()
    return message.strip()


def _strip_jargon(message: str) -> str:
    message = re.sub(r" in or near token .*$", "", message)
    expecting = _EXPECTING.search(message)
    if expecting:
        return f"expected {_expected_words(expecting.group(1))}"
    return message.rstrip(".")


def _expected_words(raw: str) -> str:
    return " or ".join(_WORDS.get(part.strip(), part.strip()) for part in raw.split(" or "))


def _eof_message(expecting: str) -> str:
    if "RBRACE" in expecting:
        return "the file ends before an object is closed: a `}` is missing"
    if "RBRACKET" in expecting:
        return "the file ends before a list is closed: a `]` is missing"
    if "value" in expecting:
        return "the file ends where a value should be: finish the entry, then close it with `}`"
    return "the file holds no config object: write {} for an empty config"


def _snippet(text: str, index: int) -> str:
    match = re.match(r"[^\s,:{}\[\]]+", text[index:])
    word = match.group(0) if match else text[index : index + 1]
    return word[:30]


def _arithmetic(text: str, index: int, primary: str, token: JSON5Token | None) -> str | None:
    if text[index : index + 1] not in "*/+-":
        return None
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = text[start : end if end != -1 else len(text)]
    for match in _ARITHMETIC.finditer(line):
        if match.start() <= index - start < match.end():
            expression = match.group(0)
            result = _evaluate(expression)
            fix = f"write the result, {result}" if result is not None else "write the number itself"
            return f"`{expression}` is arithmetic, which JSON5 does not allow: {fix}"
    return None


_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _evaluate(expression: str) -> str | None:
    def walk(node: ast.expr) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(expression)

    try:
        value = walk(ast.parse(expression, mode="eval").body)
    except (ValueError, SyntaxError, ZeroDivisionError):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _placeholder(text: str, index: int, primary: str, token: JSON5Token | None) -> str | None:
    if not text.startswith("...", index) and not text.startswith("…", index):
        return None
    before = re.search(r"""["']?([\w$-]+)["']?\s*:\s*\[\s*$""", text[:index])
    if before and before.group(1) == "models":
        return (
            "`[...]` is a placeholder from an example, not a value: list the models, "
            'e.g. models: [{ id: "llama3.3" }]'
        )
    if before:
        return "`[...]` is a placeholder from an example, not a value: write the list out"
    return "`...` is a placeholder from an example, not a value: write the actual value"


def _unterminated(text: str, index: int, primary: str, token: JSON5Token | None) -> str | None:
    if token is not None and (token.type or "").startswith("UNTERMINATED"):
        return "this string is never closed: add the closing quote"
    if "Illegal line terminator" in primary:
        return "a string runs past the end of the line: close the quote on the same line"
    return None


def _expecting(text: str, index: int, primary: str, token: JSON5Token | None) -> str | None:
    if token is None:
        return None
    found = _snippet(text, index)
    bare = re.sub(r" in or near token .*$", "", primary)
    expecting = _EXPECTING.search(bare)
    if not expecting:
        if bare == "Syntax Error":
            return f"unexpected `{found}` after the end of the config object: remove it"
        return None
    wanted = expecting.group(1)
    parts = set(wanted.split(" or "))
    if parts in ({"COMMA", "RBRACE"}, {"COMMA", "RBRACKET"}):
        close = "}" if "RBRACE" in parts else "]"
        if found in ("}", "]"):
            return f"`{found}` does not match what is open here: a `{close}` is missing before it"
        previous = text[:index].rstrip()
        prev_line = line_number(text, len(previous))
        if prev_line != line_number(text, index):
            return (
                f"expected `,` or `{close}` before `{found}`: "
                f"is a comma missing at the end of line {prev_line}?"
            )
        return f"expected `,` or `{close}` before `{found}`: separate entries with commas"
    if wanted == "value" or wanted.endswith("value"):
        if token.type == "NAME":
            return f'`{found}` is not a value: put text in double quotes, e.g. "{found}"'
        return f"a value is missing before `{found}`"
    if wanted == "COLON":
        return f"expected `:` after the key, found `{found}`"
    if "key" in wanted:
        return f"expected a key or `}}`, found `{found}`: keys are names or quoted strings"
    return None


def _misc(text: str, index: int, primary: str, token: JSON5Token | None) -> str | None:
    if "multiple trailing commas" in primary:
        return "two commas in a row: remove one"
    if "Octals are not allowed" in primary or "Octal digits" in primary:
        return f"`{_snippet(text, index)}`: numbers cannot start with 0 (write it without the 0)"
    illegal = _ILLEGAL.search(primary)
    if illegal:
        char = text[index : index + 1]
        hints = {
            "=": "use `:` between a key and its value",
            "#": "comments start with // in JSON5",
            ";": "separate entries with `,`",
            "`": 'quote text with "double quotes"',
        }
        hint = hints.get(char, "remove it or put the text in double quotes")
        return f"unexpected character {char!r}: {hint}"
    return None


_EXPLAINERS: tuple[Callable[[str, int, str, JSON5Token | None], str | None], ...] = (
    _arithmetic,
    _placeholder,
    _unterminated,
    _expecting,
    _misc,
)
