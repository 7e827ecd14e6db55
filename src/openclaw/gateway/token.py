"""The gateway's token: chosen by the user, or generated on first run and kept in the state
directory (`gateway-token`, mode 0600), and the rule that a token must be hard to guess."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from openclaw.errors import UserError

__all__ = ["MIN_TOKEN_CHARS", "TOKEN_FILE", "check_token", "stored_token", "token_path"]

MIN_TOKEN_CHARS = 16
TOKEN_FILE = "gateway-token"
_ADVICE = (
    'set a long random one with `openclaw config set gateway.auth.token "$(openssl rand -hex'
    ' 32)"`, or remove gateway.auth.token to use the one the gateway generates'
)


def token_path(state_dir: Path) -> Path:
    return state_dir / TOKEN_FILE


def check_token(token: str, where: str) -> str:
    """`token` stripped, or a `UserError` when it is blank or short (it is never shown)."""
    stripped = token.strip()
    if not stripped:
        raise UserError(f"the gateway token ({where}) is blank: {_ADVICE}")
    if len(stripped) < MIN_TOKEN_CHARS:
        raise UserError(
            f"the gateway token ({where}) is too short ({len(stripped)} characters; at least"
            f" {MIN_TOKEN_CHARS} are needed so that it cannot be guessed): {_ADVICE}"
        )
    if len(set(stripped)) < 4:
        raise UserError(f"the gateway token ({where}) repeats too few characters: {_ADVICE}")
    return stripped


def stored_token(state_dir: Path) -> str:
    """The token in `<state>/gateway-token`, made (0600) on first use; a file others can read
    is made private again."""
    path = token_path(state_dir)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return _create(path)
    except OSError as error:
        raise UserError(f"cannot read the gateway token {path}: {error.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        if os.fstat(file.fileno()).st_mode & 0o077:
            os.fchmod(file.fileno(), 0o600)
        text = file.read(4096).decode("utf-8", errors="replace")
    return check_token(text, str(path))


def _create(path: Path) -> str:
    """Write a new token to a private file of its own, then link it into place: a gateway
    starting at the same moment sees either no token file or a whole one, never a half-written
    one. When another gateway linked its token first, that one is used."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(token + "\n")
        os.link(draft, path)
    except FileExistsError:  # another gateway made it first: use that one
        return stored_token(path.parent)
    except OSError as error:
        raise UserError(f"cannot create the gateway token {path}: {error.strerror}") from None
    finally:
        draft.unlink(missing_ok=True)
    return token
