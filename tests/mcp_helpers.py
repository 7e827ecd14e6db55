"""Starting the test suite's own MCP server (tests/mcp_servers/scripted.py) and reading what it
recorded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

SCRIPTED = Path(__file__).parent / "mcp_servers" / "scripted.py"


def stdio_entry(**extra: Any) -> dict[str, Any]:
    """A `mcp.servers.<name>` entry that runs the scripted server over stdio (a server sees only
    a few variables of our environment, so where to record calls goes in its `env`)."""
    env = {"SCRIPTED_CALLS": os.environ["SCRIPTED_CALLS"]} if "SCRIPTED_CALLS" in os.environ else {}
    return {"command": sys.executable, "args": [str(SCRIPTED), "stdio"], "env": env, **extra}


def records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def http_server(record: Path, mode: str = "http", deadline: float = 60.0) -> Iterator[str]:
    """The scripted server on Streamable HTTP (or `mode="sse"`) at 127.0.0.1; yields its URL
    once it accepts connections."""
    port = _free_port()
    child = subprocess.Popen(
        [sys.executable, str(SCRIPTED), mode, str(port), str(record)],
        env={**os.environ, "SCRIPTED_CALLS": str(record.with_suffix(".calls"))},
    )
    try:
        end = time.monotonic() + deadline
        while True:
            if child.poll() is not None:
                raise RuntimeError(f"the scripted HTTP server exited with {child.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > end:
                    raise
                child_wait(child)
        yield f"http://127.0.0.1:{port}/{'sse' if mode == 'sse' else 'mcp'}"
    finally:
        child.terminate()
        child.wait(10)


def child_wait(child: subprocess.Popen[bytes]) -> None:
    """Wait a little for the child to change (exit) before trying its port again."""
    with suppress(subprocess.TimeoutExpired):
        child.wait(0.1)
