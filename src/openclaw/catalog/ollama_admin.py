"""Managing the models of one Ollama host: pull (streamed progress), delete, show, load, unload.

    async for progress in pull_model(http, base_url, "qwen3:8b"):
        ...  # PullProgress(status, digest, total, completed) per line of /api/pull

A pull that is stopped half-way leaves its finished bytes on the server: the same pull again
continues where it stopped. Load and unload are `POST /api/chat` with no messages (the server
answers `done_reason: "load"` / `"unload"`); a load sends the same `options.num_ctx` the runtime
sends, so the first real request does not reload the model.

Errors raised here are `AdminError` (a `UserError`): their message says what to do next.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from openclaw.catalog.overrides import DEFAULT_KEEP_ALIVE, with_keep_alive
from openclaw.errors import NotFoundError, UserError
from openclaw.records import Record, record

if TYPE_CHECKING:
    import aiohttp

    from openclaw.providers.http_client import HttpClient

__all__ = [
    "DEFAULT_KEEP_ALIVE",
    "AdminError",
    "PullProgress",
    "delete_model",
    "load_model",
    "pull_model",
    "show_model",
    "unload_model",
    "valid_keep_alive",
    "with_keep_alive",
]

MAX_LINE = 65_536  # bytes of one progress line; a real one is under 300
_DURATION = re.compile(r"^-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")


class AdminError(UserError):
    """The server refused or could not be reached; the message says what to do."""


@record(slots=True)
class PullProgress(Record):
    """One progress line of a pull, as the server sends it."""

    status: str  # "pulling manifest", "pulling <digest>", "verifying sha256 digest", "success"
    digest: str = ""  # the layer being downloaded
    total: int = 0  # bytes of that layer
    completed: int = 0  # bytes of it on the server so far


def valid_keep_alive(value: object) -> bool:
    """A number (seconds) or a Go duration string such as "30m", "1h", "-1m"."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(_DURATION.match(value))


def _timeout(total: float | None = 30.0) -> aiohttp.ClientTimeout:
    import aiohttp

    return aiohttp.ClientTimeout(total=total, sock_connect=2.0)


def _error_text(raw: str) -> str:
    try:
        return str(json.loads(raw).get("error") or raw).strip()
    except (ValueError, AttributeError):
        return raw.strip()[:300]


def _unreachable(base_url: str, error: BaseException) -> AdminError:
    return AdminError(
        f"Ollama is not reachable at {base_url} ({error or type(error).__name__}):"
        " is it running? Start it with `ollama serve`"
    )


async def pull_model(http: HttpClient, base_url: str, name: str) -> AsyncIterator[PullProgress]:
    """`POST /api/pull`, one `PullProgress` per progress line; raises `AdminError`."""
    import aiohttp

    body = {"model": name, "stream": True}
    try:
        pull = http.session.post(f"{base_url}/api/pull", json=body, timeout=_timeout(None))
        async with pull as resp:
            if resp.status >= 400:
                message = _error_text(await resp.text())
                raise AdminError(f"cannot pull {name} from {base_url}: {message}")
            buffer = b""
            async for chunk in resp.content.iter_any():
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    _check_length(line, name, base_url)
                    data = _line(line)
                    if data is None:
                        continue
                    if "error" in data:
                        raise AdminError(f"cannot pull {name}: {str(data['error'])[:300]}")
                    yield _progress(data)
                _check_length(buffer, name, base_url)
            last = _line(buffer)  # a last line without its newline
            if last is not None and "error" in last:
                raise AdminError(f"cannot pull {name}: {str(last['error'])[:300]}")
            if last is not None:
                yield _progress(last)
    except (aiohttp.ClientConnectionError, OSError) as error:
        raise _unreachable(base_url, error) from error


def _check_length(line: bytes, name: str, base_url: str) -> None:
    if len(line) > MAX_LINE:
        raise AdminError(
            f"cannot pull {name}: {base_url} sent a malformed answer"
            f" (a progress line longer than {MAX_LINE} bytes)"
        )


def _line(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _progress(data: dict[str, Any]) -> PullProgress:
    def count(key: str) -> int:
        value = data.get(key)
        return value if isinstance(value, int) and value >= 0 else 0

    return PullProgress(
        str(data.get("status") or "")[:200],
        str(data.get("digest") or "")[:100],
        count("total"),
        count("completed"),
    )


async def _post(
    http: HttpClient, method: str, url: str, body: dict[str, Any], total: float | None
) -> tuple[int, str]:
    import aiohttp

    base_url = url.rsplit("/api/", 1)[0]
    try:
        sent = http.session.request(method, url, json=body, timeout=_timeout(total))
        async with sent as response:
            return response.status, await response.text()
    except (aiohttp.ClientConnectionError, OSError, TimeoutError) as error:
        raise _unreachable(base_url, error) from error


async def delete_model(http: HttpClient, base_url: str, name: str) -> None:
    """`DELETE /api/delete`; a model that is not installed raises `NotFoundError`."""
    status, text = await _post(http, "DELETE", f"{base_url}/api/delete", {"model": name}, 30)
    if status == 404:
        raise NotFoundError(f"{name} is not installed on {base_url} (`openclaw models list`)")
    if status >= 400:
        raise AdminError(f"cannot delete {name} on {base_url}: {_error_text(text)}")


async def show_model(http: HttpClient, base_url: str, name: str) -> dict[str, Any]:
    """`POST /api/show` as the server answers it."""
    status, text = await _post(http, "POST", f"{base_url}/api/show", {"model": name}, 30)
    if status == 404:
        raise NotFoundError(
            f"{name} is not installed on {base_url}: pull it with `openclaw models pull {name}`"
        )
    if status >= 400:
        raise AdminError(f"cannot show {name} on {base_url}: {_error_text(text)}")
    data = json.loads(text)
    return data if isinstance(data, dict) else {}


async def load_model(
    http: HttpClient,
    base_url: str,
    name: str,
    *,
    num_ctx: int,
    keep_alive: str | int | float,
    num_batch: int = 0,
) -> dict[str, Any]:
    """Load `name` with the runner options the runtime uses; returns the server's answer (its
    `load_duration` is how long the load took, in nanoseconds, when the server reports it)."""
    options: dict[str, Any] = {"num_ctx": num_ctx}
    if num_batch:
        options["num_batch"] = num_batch
    body: dict[str, Any] = {
        "model": name,
        "messages": [],
        "keep_alive": keep_alive,
        "options": options,
    }
    return await _load_request(http, base_url, name, body)


async def unload_model(http: HttpClient, base_url: str, name: str) -> dict[str, Any]:
    """Unload `name` now (`keep_alive: 0`)."""
    body: dict[str, Any] = {"model": name, "messages": [], "keep_alive": 0}
    return await _load_request(http, base_url, name, body)


async def _load_request(
    http: HttpClient, base_url: str, name: str, body: dict[str, Any]
) -> dict[str, Any]:
    status, text = await _post(http, "POST", f"{base_url}/api/chat", body, None)
    if status == 404:
        raise NotFoundError(
            f"{name} is not installed on {base_url}: pull it with `openclaw models pull {name}`"
        )
    if status >= 400:
        raise AdminError(f"{base_url} refused to load {name}: {_error_text(text)}")
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
