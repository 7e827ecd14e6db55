"""The commands the README shows must exist and parse as written."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest

from openclaw.cli.main import GROUPS, main

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_commands() -> list[str]:
    text = README.read_text()
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            line = line.split(" #")[0].strip()
            for part in line.split("&&"):
                words = shlex.split(part.strip())
                while words and "=" in words[0]:  # leading VAR=value assignments
                    words.pop(0)
                if words and words[0] == "openclaw":
                    commands.append(shlex.join(words))
    return commands


def test_readme_has_commands() -> None:
    assert len(readme_commands()) > 20


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_parses(command: str) -> None:
    words = shlex.split(command)[1:]
    group = GROUPS[words[0]]
    module = importlib.import_module(f"openclaw.cli.{group[0]}")
    module.build_parser().parse_args(words[1:])  # SystemExit (a usage error) fails the test


def test_help_lists_every_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in GROUPS:
        assert f"  {name}" in out


def test_test_command_is_marked() -> None:
    text = README.read_text()
    marker = text.index("<!-- test-command -->")
    assert "pip install -e '.[test]' && pytest" in text[marker : marker + 80]
