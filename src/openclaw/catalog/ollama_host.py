"""Base URLs of Ollama servers: `OLLAMA_HOST` values and user-written `baseUrl`s.

`OLLAMA_HOST` follows the server's own rules: `host` or `host:port` means http on port 11434,
`http://host` means port 80 and `https://host` 443; `0.0.0.0` is rewritten to `127.0.0.1`.
A `baseUrl` written for the OpenAI-compatible API (trailing `/v1`) or with a trailing `/` is
reduced to the server root for the native API.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["DEFAULT_OLLAMA_URL", "is_local_url", "native_base_url", "parse_ollama_host"]

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"


def parse_ollama_host(value: str) -> str:
    value = value.strip()
    if not value:
        return DEFAULT_OLLAMA_URL
    scheme = "http"
    default_port = 11434
    if "://" in value:
        scheme, value = value.split("://", 1)
        default_port = 443 if scheme == "https" else 80
    hostport, slash, path = value.partition("/")
    if hostport.startswith("["):  # IPv6: [::1]:11434
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        host = f"[{host}]"
    else:
        host, _, port = hostport.partition(":")
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    if host == "[::]":
        host = "[::1]"
    url = f"{scheme}://{host}:{port or default_port}"
    return url + (slash + path).rstrip("/") if path else url


def native_base_url(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[:-3].rstrip("/")
    if url.endswith("/api"):
        url = url[:-4].rstrip("/")
    return url


def is_local_url(url: str) -> bool:
    """True for hosts on this machine or its network (loopback, private, .local, bare names)."""
    host = urlsplit(url).hostname or ""
    if host in ("localhost",) or host.endswith((".localhost", ".local", ".internal", ".lan")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host and host != ""
    return address.is_loopback or address.is_private or address.is_link_local
