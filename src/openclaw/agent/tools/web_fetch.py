"""`web_fetch`: a web page or other text over http(s), as readable text.

Fetching is an action like running a command: `tools.web_fetch.policy` is `ask` (the default:
the person is asked; with nobody to ask it is refused), `allow` or `deny`. Only public
addresses are reached (`addresses.py`): the host is resolved once, each address checked, and
the connection made to a checked address (no second lookup a DNS server could answer
differently); every redirect is checked the same way.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from openclaw.agent.tools.base import Tool, ToolContext, ToolError, argument_model
from openclaw.agent.tools.text import SNIFF_SIZE, format_size, looks_binary

if TYPE_CHECKING:
    from openclaw.agent.tools.addresses import AllowList
    from openclaw.agent.tools.arguments import WebFetchArguments

__all__ = ["MAX_DOWNLOAD_BYTES", "TIMEOUT_SECONDS", "WEB_FETCH_TOOL"]

MAX_DOWNLOAD_BYTES = 5 * 1024 * 1024  # read at most this much of a body
TIMEOUT_SECONDS = 30.0
_HTML = frozenset({"text/html", "application/xhtml+xml"})
_TEXT = frozenset(
    {
        "application/json", "application/xml", "application/javascript", "application/ecmascript",
        "application/x-javascript", "application/yaml", "application/x-yaml", "application/toml",
        "application/x-sh", "application/sql", "application/rss+xml", "application/atom+xml",
    }
)  # fmt: skip


def _check_url(url: str, allow: AllowList) -> None:
    from openclaw.agent.tools.addresses import literal_address  # ipaddress: only for a fetch

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ToolError(f"{url!r} is not an http or https address; web_fetch only fetches those")
    address = literal_address(parts.hostname)
    if address is not None:
        reason = allow.refusal(parts.hostname, address)
        if reason is not None:
            raise ToolError(reason)


async def _check_policy(url: str, ctx: ToolContext) -> None:
    policy = ctx.web_fetch.policy
    if policy == "deny":
        raise ToolError(
            "web_fetch is disabled by tools.web_fetch.policy (deny); do the task without"
            " fetching, or ask the user to run `openclaw config set tools.web_fetch.policy ask`"
        )
    if policy == "allow":
        return
    if ctx.approve is None:
        raise ToolError(
            "web_fetch needs approval and there is no terminal to ask, so nothing was fetched."
            " To let it fetch, the user can run"
            " `openclaw config set tools.web_fetch.policy allow`"
        )
    if not await ctx.approve(f"web_fetch {url}"):
        raise ToolError("the user declined to fetch this address; it was not fetched")


async def web_fetch(args: WebFetchArguments, ctx: ToolContext) -> str:
    from openclaw.agent.tools.addresses import AllowList

    url = args.url.strip()
    allow = AllowList.parse(ctx.web_fetch.allow)
    _check_url(url, allow)
    await _check_policy(url, ctx)
    from openclaw.agent.tools.web_fetch_http import fetch

    fetched = await fetch(url, allow, _check_url, TIMEOUT_SECONDS, MAX_DOWNLOAD_BYTES)
    body, cut, kind, charset, final_url = fetched
    text = _to_text(url, body, kind, charset, final_url)
    return _with_notes(text, args.max_chars, cut, final_url if final_url != url else None)


def _to_text(url: str, body: bytes, kind: str, charset: str | None, final_url: str) -> str:
    textual = kind in _HTML or kind in _TEXT or kind.startswith("text/")
    textual = textual or kind.endswith(("+json", "+xml"))
    if (kind and not textual) or looks_binary(body[:SNIFF_SIZE]):
        what = kind or "binary data"
        raise ToolError(f"{url} is {what}, not text; web_fetch only reads web pages and text")
    try:
        text = body.decode(codecs.lookup(charset or "utf-8").name, errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    looks_html = not kind and text.lstrip()[:15].lower().startswith(("<!doctype html", "<html"))
    if kind in _HTML or looks_html:
        from openclaw.agent.tools.html_text import html_to_text  # html.parser: only for a page

        return html_to_text(text, final_url)
    return text


def _with_notes(text: str, max_chars: int, cut: bool, redirected_to: str | None) -> str:
    head = f"[redirected to {redirected_to}]\n" if redirected_to else ""
    notes = []
    if not text.strip():
        text = ""
        notes.append("[the page has no text]")
    if len(text) > max_chars:
        notes.append(
            f"[... cut at {max_chars} of {len(text)} characters;"
            " pass a larger max_chars to see more]"
        )
        text = text[:max_chars]
    if cut:
        notes.append(
            f"[the page is over {format_size(MAX_DOWNLOAD_BYTES)}; only its start was read]"
        )
    if notes and text and not text.endswith("\n"):
        text += "\n"
    return head + text + "\n".join(notes)


# The JSON schema of WebFetchArguments (the test of the tools checks that they are the same)
PARAMETERS: dict[str, Any] = {
    "additionalProperties": False,
    "properties": {
        "url": {"description": "The http or https address to fetch.", "type": "string"},
        "max_chars": {
            "default": 50000,
            "description": "The most characters of text to return.",
            "minimum": 1,
            "type": "integer",
        },
    },
    "required": ["url"],
    "type": "object",
}

WEB_FETCH_TOOL = Tool(
    name="web_fetch",
    description=(
        "Fetch an http or https address and return it as text: a web page is turned into"
        " readable text (links keep their address), other text comes back as it is. Returns at"
        " most `max_chars` characters; binary content such as images is refused."
    ),
    parameters=PARAMETERS,
    arguments=argument_model("WebFetchArguments"),
    run=web_fetch,
    read_only=True,
)
