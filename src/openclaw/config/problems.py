"""What validating `openclaw.json` finds: each problem with its key path and line, and the
outcome of one check. Loaded only when a file is validated (`load.check_document`), not when an
unchanged file is read from its cached form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from openclaw.config.paths_expr import Segment, format_path
from openclaw.records import Record, record

if TYPE_CHECKING:
    from openclaw.config.schema import Config

__all__ = ["Checked", "Problem"]


@record
class Problem(Record):
    """One finding: the key path, the line it is on and what is wrong."""

    path: tuple[Segment, ...]
    line: int
    message: str

    def render(self, file_name: str) -> str:
        where = f" {format_path(self.path)}" if self.path else ""
        return f"{file_name}:{self.line}{where}: {self.message}"

    @property
    def identity(self) -> tuple[str, str]:
        """The same finding before and after an edit (lines move, paths and messages do not)."""
        return format_path(self.path), self.message


@dataclass
class Checked:
    """A file's validation: the config (None if it has problems), the problems and warnings."""

    config: Config | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # the file's, `${VAR}` as written
