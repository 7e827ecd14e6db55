"""Failures a user caused or can fix, shown as a message without a traceback.

UserError                  anything the CLI prints as `error: ...` and exits non-zero on
 ├── ConfigError           the config file cannot be read or is invalid
 └── NotFoundError         a named thing (model ref, session, profile) does not exist
"""

from __future__ import annotations

__all__ = ["ConfigError", "NotFoundError", "UserError"]


class UserError(Exception):
    """An expected failure: `str(error)` says what is wrong and what to do."""

    exit_code = 1


class ConfigError(UserError):
    """The config file is unreadable or invalid; `problems` lists every finding."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []

    def __str__(self) -> str:
        head = super().__str__()
        if not self.problems:
            return head
        return head + "\n" + "\n".join(f"  {p}" for p in self.problems)


class NotFoundError(UserError):
    """A named thing does not exist; the message lists what does."""
