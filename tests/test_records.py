"""`Record` and `record`: the comparison, hash and text form of the package's read-only records,
that the type checker refuses an assignment to one, and the rule that every record of the
package is declared so (no frozen dataclass, no comparison generated per class)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import random
from pathlib import Path

import pytest

import openclaw
from openclaw.catalog.catalog import Catalog
from openclaw.providers.events import TextDelta, ThinkingDelta, ToolCall, Usage
from openclaw.providers.model import Model
from openclaw.providers.tokens import estimate_text_tokens
from openclaw.records import Record, record


def test_equal_when_the_same_kind_with_the_same_compared_fields() -> None:
    assert TextDelta("hi") == TextDelta("hi")
    assert TextDelta("hi") != TextDelta("ho")
    assert TextDelta("hi") != ThinkingDelta("hi")  # same fields, another kind
    assert TextDelta("hi") != "hi"
    # the server's timings are not part of a usage
    assert Usage(10, 2, load_ns=5) == Usage(10, 2, load_ns=9)
    assert hash(Usage(10, 2, load_ns=5)) == hash(Usage(10, 2, load_ns=9))
    assert Usage(10, 2) != Usage(10, 3)
    assert ToolCall("c1", "read", {"path": "a"}, raw_arguments='{"path":"a"}') == ToolCall(
        "c1", "read", {"path": "a"}
    )


def test_hash_leaves_out_what_is_not_hashed_and_records_work_as_keys() -> None:
    model = Model("p", "m", "ollama", "http://127.0.0.1:11434", params={"num_ctx": 8192})
    same = dataclasses.replace(model, params={"num_ctx": 4096}, headers={"x": "y"})
    assert model == same and hash(model) == hash(same)  # params and headers are not compared
    assert {model: 1}[same] == 1
    assert len({TextDelta("a"), TextDelta("a"), TextDelta("b")}) == 2
    with pytest.raises(TypeError):
        hash(ToolCall("c1", "read", {"path": "a"}))  # a dict argument is not hashable


def test_text_form_names_the_fields_shown() -> None:
    assert repr(TextDelta("hi")) == "TextDelta(text='hi')"
    assert repr(Usage(1, 2)) == (
        "Usage(input=1, output=2, cache_read=0, cache_write=0, load_ns=0, prompt_eval_ns=0,"
        " eval_ns=0)"
    )
    assert "_index" not in repr(Catalog(models=(), providers={}))


READ_ONLY = """
import dataclasses
from openclaw.records import Record, record

@record(slots=True)
class Point(Record):
    x: int
    y: int = 0

point = Point(1)
moved = dataclasses.replace(point, y=2)
point.x = 3
"""


def test_a_record_is_read_only_for_the_type_checker(tmp_path: Path) -> None:
    from mypy import api

    sample = tmp_path / "sample.py"
    sample.write_text(READ_ONLY)
    out, err, status = api.run(
        [
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--python-version",
            "3.11",
            str(sample),
        ]
    )
    assert status == 1, out + err
    assert 'sample.py:12: error: Property "x" defined in "Point" is read-only' in out
    assert out.count("error:") == 1, out  # the construction and the replace are fine


def test_a_changed_value_is_a_new_record() -> None:
    delta = TextDelta("hi")
    assert dataclasses.replace(delta, text="ho") == TextDelta("ho")
    assert delta == TextDelta("hi")


def test_record_refuses_a_class_that_is_not_a_record() -> None:
    with pytest.raises(TypeError, match="is not a Record"):

        @record
        class Loose:
            x: int


def _package_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(openclaw.__path__, "openclaw."):
        if info.name.endswith("__main__"):
            continue  # runs the command line
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and dataclasses.is_dataclass(cls):
                found.append(cls)
    return found


def test_every_record_is_declared_with_record_and_nothing_is_frozen() -> None:
    classes = _package_classes()
    records = [c for c in classes if issubclass(c, Record)]
    assert len(records) > 90
    params = {c: c.__dataclass_params__ for c in classes}  # type: ignore[attr-defined]
    # A frozen dataclass compiles an __setattr__ and a __delattr__ when its class is created.
    assert [c.__qualname__ for c in classes if params[c].frozen] == []
    # `@record`: comparison and text form from Record (or written by hand, as the keys' text
    # form that hides the secret), none generated for the class.
    assert [c.__qualname__ for c in records if params[c].eq or params[c].repr] == []


def test_every_dataclass_says_what_it_is() -> None:
    # Without a docstring, dataclasses writes one from the class's signature when the class is
    # created, through inspect: 0.1 to 0.3 ms at import for each such class.
    bare = [
        f"{c.__module__}.{c.__qualname__}"
        for c in _package_classes()
        if (c.__doc__ or "").startswith(c.__name__ + "(")
    ]
    assert bare == []


def _by_each_character(text: str) -> int:
    """The estimate's rule, one character at a time."""
    letters = spaces = symbols = wide = other = 0
    for char in text:
        code = ord(char)
        if code < 128:
            if char.isalnum():
                letters += 1
            elif char.isspace():
                spaces += 1
            else:
                symbols += 1
        elif (
            0x2E80 <= code <= 0x9FFF
            or 0xAC00 <= code <= 0xD7AF
            or 0xF900 <= code <= 0xFAFF
            or 0xFF00 <= code <= 0xFFEF
            or code >= 0x1F000
        ):
            wide += 1
        elif char.isspace():
            spaces += 1
        else:
            other += 1
    estimate = wide + letters / 3.2 + symbols / 1.5 + other / 1.6 + spaces / 6
    return max(1, int(estimate + 0.999))


def test_the_estimate_counts_each_character_as_its_class_says() -> None:
    every = "".join(chr(code) for code in range(0x110000))
    assert estimate_text_tokens(every) == _by_each_character(every)
    rng = random.Random(7)
    for start in range(0, 0x110000, 0x1000):  # each block alone, and repeated
        block = every[start : start + 0x1000]
        assert estimate_text_tokens(block * 3) == _by_each_character(block * 3), hex(start)
    samples = (
        every[:256] + "\u3000\u2028\u205f\xa0\x85 今天天气很好。안녕하세요 Привет 😀\U00020000"
    )
    for _ in range(300):
        text = "".join(rng.choice(samples) for _ in range(rng.randint(1, 300)))
        assert estimate_text_tokens(text) == _by_each_character(text), repr(text)
