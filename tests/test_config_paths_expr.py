"""The key-path grammar used by `openclaw config get/set/unset` and in messages."""

from __future__ import annotations

import pytest

from openclaw.config.paths_expr import PathError, format_path, parse_path


@pytest.mark.parametrize(
    ("expr", "segments"),
    [
        ("models.providers.ollama.apiKey", ("models", "providers", "ollama", "apiKey")),
        (
            "models.providers.ollama.models[0].contextWindow",
            ("models", "providers", "ollama", "models", 0, "contextWindow"),
        ),
        ('models.providers["my.host"].baseUrl', ("models", "providers", "my.host", "baseUrl")),
        ("models.providers['my.host'].baseUrl", ("models", "providers", "my.host", "baseUrl")),
        ("models.providers.ollama-gpu.api", ("models", "providers", "ollama-gpu", "api")),
        ("a[0][1].b", ("a", 0, 1, "b")),
        ('a["with \\"quote\\""]', ("a", 'with "quote"')),
        ('["top.level"]', ("top.level",)),
    ],
)
def test_parse(expr: str, segments: tuple[object, ...]) -> None:
    assert parse_path(expr) == segments


@pytest.mark.parametrize(
    "segments",
    [
        ("models", "providers", "my.host", "models", 0, "id"),
        ("a", "b c", "d[e]", 'q"uote'),
        ("gpt-oss:20b",),
    ],
)
def test_format_reads_back(segments: tuple[str | int, ...]) -> None:
    assert parse_path(format_path(segments)) == segments


def test_format_is_plain_where_it_can_be() -> None:
    assert format_path(("models", "providers", "ollama", "models", 0, "id")) == (
        "models.providers.ollama.models[0].id"
    )
    assert format_path(("models", "providers", "my.host")) == 'models.providers["my.host"]'


@pytest.mark.parametrize("expr", ["", "a..b", ".a", "a.", "a[x]", "a[-1]", "a b", 'a."b"', "a[0]b"])
def test_bad_paths_are_user_errors(expr: str) -> None:
    with pytest.raises(PathError) as caught:
        parse_path(expr)
    assert "key path" in str(caught.value)
