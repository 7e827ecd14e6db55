"""read, write, edit, ls and grep on real files in a temporary workspace."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from openclaw.agent.tools import builtin_tools, run_tool
from openclaw.agent.tools.base import ToolContext
from openclaw.agent.tools.grep import MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_MATCHES
from openclaw.agent.tools.ls import MAX_ENTRIES
from openclaw.agent.tools.read import MAX_BYTES

TOOLS = {tool.name: tool for tool in builtin_tools()}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def ctx(ws: Path) -> ToolContext:
    return ToolContext(workspace=ws)


async def ok(ctx: ToolContext, name: str, **arguments: Any) -> str:
    result, is_error = await run_tool(TOOLS, name, arguments, ctx)
    assert not is_error, result
    return result


async def fails(ctx: ToolContext, name: str, **arguments: Any) -> str:
    result, is_error = await run_tool(TOOLS, name, arguments, ctx)
    assert is_error, result
    return result


def numbered(count: int) -> str:
    return "".join(f"line {n}\n" for n in range(1, count + 1))


# --- read -------------------------------------------------------------------------------------


async def test_read_returns_the_text_as_it_is(ctx: ToolContext, ws: Path) -> None:
    (ws / "a.txt").write_bytes("héllo\r\nworld".encode())
    assert await ok(ctx, "read", path="a.txt") == "héllo\r\nworld"


async def test_read_a_window(ctx: ToolContext, ws: Path) -> None:
    (ws / "a.txt").write_text(numbered(10))
    assert await ok(ctx, "read", path="a.txt", offset=3, limit=2) == (
        "line 3\nline 4\n[... 6 more lines: read again with offset=5]"
    )
    assert await ok(ctx, "read", path="a.txt", offset=9) == "line 9\nline 10\n"


async def test_read_stops_at_the_default_limit(ctx: ToolContext, ws: Path) -> None:
    (ws / "long.txt").write_text(numbered(3234))
    result = await ok(ctx, "read", path="long.txt")
    assert result.startswith("line 1\n")
    assert result.endswith("line 2000\n[... 1234 more lines: read again with offset=2001]")


async def test_read_caps_bytes(ctx: ToolContext, ws: Path) -> None:
    line = "x" * 199 + "\n"
    (ws / "big.txt").write_text(line * 3000)  # 600,000 bytes in fewer lines than the limit
    result = await ok(ctx, "read", path="big.txt")
    fits = MAX_BYTES // len(line)
    assert result == line * fits + (
        f"[... {3000 - fits} more lines (output capped at 256 KiB):"
        f" read again with offset={fits + 1}]"
    )


async def test_read_cuts_a_single_huge_line(ctx: ToolContext, ws: Path) -> None:
    (ws / "one.txt").write_text("y" * (MAX_BYTES + 10) + "\nnext\n")
    result = await ok(ctx, "read", path="one.txt")
    assert result.startswith("y" * MAX_BYTES + "\n[line 1 is longer than 256 KiB and was cut;")
    assert result.endswith(
        "[... 1 more lines (output capped at 256 KiB): read again with offset=2]"
    )
    assert await ok(ctx, "read", path="one.txt", offset=2) == "next\n"


async def test_read_errors(ctx: ToolContext, ws: Path) -> None:
    (ws / "a.txt").write_text("one\ntwo\n")
    (ws / "dir").mkdir()
    (ws / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    assert await fails(ctx, "read", path="a.txt", offset=5) == (
        "offset 5 is past the end of a.txt, which has 2 lines"
    )
    assert "missing.txt does not exist" in await fails(ctx, "read", path="missing.txt")
    assert "dir is a directory; use ls" in await fails(ctx, "read", path="dir")
    assert await fails(ctx, "read", path="image.png") == (
        "image.png is a binary file; read only returns text"
    )


async def test_read_and_write_refuse_pipes(ctx: ToolContext, ws: Path) -> None:
    os.mkfifo(ws / "pipe")
    assert "pipe is not a regular file" in await fails(ctx, "read", path="pipe")
    assert "pipe is not a regular file" in await fails(ctx, "write", path="pipe", content="x")


async def test_read_empty_and_latin1_files(ctx: ToolContext, ws: Path) -> None:
    (ws / "empty.txt").write_bytes(b"")
    (ws / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    assert await ok(ctx, "read", path="empty.txt") == "[empty file]"
    assert await ok(ctx, "read", path="latin1.txt") == "caf\N{REPLACEMENT CHARACTER}\n"


# --- write ------------------------------------------------------------------------------------


async def test_write_creates_parents_and_reports_bytes(ctx: ToolContext, ws: Path) -> None:
    assert await ok(ctx, "write", path="a/b/c.txt", content="héllo") == (
        "created a/b/c.txt: wrote 6 bytes"
    )
    assert (ws / "a" / "b" / "c.txt").read_text() == "héllo"
    assert await ok(ctx, "write", path="a/b/c.txt", content="") == (
        "replaced a/b/c.txt: wrote 0 bytes"
    )
    assert (ws / "a" / "b" / "c.txt").read_bytes() == b""


async def test_write_refuses_directories(ctx: ToolContext, ws: Path) -> None:
    (ws / "dir").mkdir()
    (ws / "file").write_text("x")
    assert "dir is a directory" in await fails(ctx, "write", path="dir", content="x")
    assert "a file stands where one of its parent directories should be" in await fails(
        ctx, "write", path="file/inner.txt", content="x"
    )


# --- edit -------------------------------------------------------------------------------------


async def test_edit_applies_replacements_in_order(ctx: ToolContext, ws: Path) -> None:
    (ws / "code.py").write_text("def f():\n    return 1\n\ndef g():\n    return 2\n")
    edits = [
        {"old": "    return 1\n", "new": "    return 10\n"},
        {"old": "return 10", "new": "return 11"},  # sees the first edit
    ]
    assert await ok(ctx, "edit", path="code.py", edits=edits) == (
        "edited code.py: 2 replacements made"
    )
    assert (ws / "code.py").read_text() == "def f():\n    return 11\n\ndef g():\n    return 2\n"


@pytest.mark.parametrize(
    ("old", "count", "advice"),
    [
        ("return 3", 0, "copy the text exactly as the file has it"),
        ("return", 2, "include more of the surrounding text"),
        ("aa", 2, "include more of the surrounding text"),  # overlapping, in "aaa"
    ],
)
async def test_edit_that_does_not_match_once_changes_nothing(
    ctx: ToolContext, ws: Path, old: str, count: int, advice: str
) -> None:
    original = "def f():\n    return 1\n\ndef g():\n    return 2\n# aaa\n"
    (ws / "code.py").write_text(original)
    edits = [{"old": "def f", "new": "def first"}, {"old": old, "new": "x"}]
    result = await fails(ctx, "edit", path="code.py", edits=edits)
    assert result.startswith(
        f"edit 2 of 2: `old` matched {count} times in code.py, it must match exactly once; {advice}"
    )
    assert result.endswith("No change was made to the file.")
    assert (ws / "code.py").read_text() == original


async def test_edit_errors(ctx: ToolContext, ws: Path) -> None:
    (ws / "bin").write_bytes(b"\xff\xfe\x00x")
    assert "use write to create" in await fails(
        ctx, "edit", path="new.txt", edits=[{"old": "a", "new": "b"}]
    )
    assert "bin is not UTF-8 text" in await fails(
        ctx, "edit", path="bin", edits=[{"old": "x", "new": "y"}]
    )
    assert "argument 'edits[0].old': string should have at least 1 character" in await fails(
        ctx, "edit", path="bin", edits=[{"old": "", "new": "y"}]
    )


# --- ls ---------------------------------------------------------------------------------------


async def test_ls_sorts_and_marks_directories(ctx: ToolContext, ws: Path) -> None:
    (ws / "b.txt").write_text("")
    (ws / "a").mkdir()
    (ws / ".hidden").write_text("")
    (ws / "a" / "inner.txt").write_text("")
    assert await ok(ctx, "ls") == ".hidden\na/\nb.txt"
    assert await ok(ctx, "ls", path="a") == "inner.txt"
    (ws / "empty").mkdir()
    assert await ok(ctx, "ls", path="empty") == "[empty directory]"


async def test_ls_caps_entries(ctx: ToolContext, ws: Path) -> None:
    for n in range(MAX_ENTRIES + 5):
        (ws / f"f{n:05}").write_text("")
    lines = (await ok(ctx, "ls")).split("\n")
    assert len(lines) == MAX_ENTRIES + 1
    assert lines[0] == "f00000"
    assert lines[-1].startswith("[... 5 more entries not shown;")


async def test_ls_errors(ctx: ToolContext, ws: Path) -> None:
    (ws / "file").write_text("")
    assert "file is a file, not a directory; use read" in await fails(ctx, "ls", path="file")
    assert "nowhere does not exist" in await fails(ctx, "ls", path="nowhere")


# --- grep -------------------------------------------------------------------------------------


async def test_grep_finds_lines(ctx: ToolContext, ws: Path) -> None:
    (ws / "src").mkdir()
    (ws / "src" / "a.py").write_text("import os\n\ndef main():\n    os.exit(0)\n")
    (ws / "notes.md").write_text("os is imported\r\n")
    result = await ok(ctx, "grep", pattern=r"\bos\b")
    assert result == (
        "notes.md:1: os is imported\nsrc/a.py:1: import os\nsrc/a.py:4:     os.exit(0)"
    )
    assert await ok(ctx, "grep", pattern="os", glob="*.py", path="src") == (
        "src/a.py:1: import os\nsrc/a.py:4:     os.exit(0)"
    )
    assert await ok(ctx, "grep", pattern="main", path="src/a.py") == "src/a.py:3: def main():"


async def test_grep_skips_binary_git_and_links_out(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    (ws / ".git").mkdir(parents=True)
    (ws / ".git" / "config").write_text("needle\n")
    (ws / "data.bin").write_bytes(b"needle\0\1\2")
    (tmp_path / "outside.txt").write_text("needle\n")
    (ws / "out.txt").symlink_to(tmp_path / "outside.txt")
    (ws / "in.txt").write_text("a needle\n")
    ctx = ToolContext(workspace=ws)
    assert await ok(ctx, "grep", pattern="needle") == "in.txt:1: a needle"


async def test_grep_caps_matches_and_lines(ctx: ToolContext, ws: Path) -> None:
    (ws / "many.txt").write_text("hit\n" * (MAX_MATCHES + 50))
    (ws / "wide.txt").write_text("hit" + "x" * 1000 + "\n")
    result = await ok(ctx, "grep", pattern="hit")
    lines = result.split("\n")
    assert len(lines) == MAX_MATCHES + 1
    assert lines[-1] == (
        f"[stopped after {MAX_MATCHES} matches; narrow the pattern, the path or the glob]"
    )
    wide = await ok(ctx, "grep", pattern="hit", glob="wide.*")
    assert wide == "wide.txt:1: hit" + "x" * (MAX_LINE_CHARS - 3) + " [... line cut]"


async def test_grep_skips_huge_files_and_says_so(ctx: ToolContext, ws: Path) -> None:
    with (ws / "huge.log").open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)
    assert await ok(ctx, "grep", pattern="x") == (
        "no matches for 'x' in .\n[1 files over 10 MiB were not searched]"
    )


async def test_grep_no_matches_and_bad_patterns(ctx: ToolContext, ws: Path) -> None:
    (ws / "a.txt").write_text("nothing here\n")
    assert await ok(ctx, "grep", pattern="absent", glob="*.txt") == (
        "no matches for 'absent' in . (files matching '*.txt')"
    )
    assert "invalid regular expression '(unclosed'" in await fails(ctx, "grep", pattern="(unclosed")
    assert "missing does not exist" in await fails(ctx, "grep", pattern="x", path="missing")
