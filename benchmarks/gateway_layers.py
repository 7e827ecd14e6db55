"""Where the gateway's own time goes, per request and per streamed chunk, for every face.

No network and no model: the gateway's ASGI app is called in this process with a request body
and a `send` that keeps nothing, and its provider is a stream of ready events (what the
Ollama provider yields once it has parsed a line). So what is measured is the gateway's Python
alone (routing, the Guard, the access log, the run, the fallback chain, the face's encoder, the
layers a chunk passes through), free of the machine's noise that the socket benchmarks
(`bench_faces.py`) carry. CPU time (`time.process_time`) of `--requests` chats, 100 at once
as in `bench_faces.py`; the figure is the best of `--rounds` rounds, interleaved (the least
disturbed by other processes).

    python benchmarks/gateway_layers.py [--rounds 7] [--requests 200] [--json FILE]

The layers, each measured alone over the same events: the provider's events (the stand-in
stream itself), the fallback chain over them, the face's encoder for each event, and the whole
app; "the rest" is the app less those (ChatRun, ChatResponse, middleware, send).
`PYTHONPATH=<another src> python benchmarks/gateway_layers.py` measures another version.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from harness import print_table, write_json

from openclaw.catalog.catalog import Catalog, ProviderStatus
from openclaw.config.schema import Config
from openclaw.gateway.app import create_app
from openclaw.gateway.state import CatalogSource, Runtime
from openclaw.providers.events import (
    AssistantMessage,
    Context,
    Done,
    Start,
    StreamEvent,
    StreamOptions,
    TextDelta,
    Usage,
)
from openclaw.providers.model import Model
from openclaw.runtime.fallback import FallbackChain
from openclaw.runtime.routing import Router

TOKEN = "bench-layers-token"
MODEL = Model("ollama", "bench:1b", "ollama", "http://127.0.0.1:9", local=True)
PROMPT = [{"role": "user", "content": "go"}]
SHORT, LONG = 1, 41  # tokens per chat: the set-up alone, then 40 chunks more
AT_ONCE = 100

# face -> (path, body)
FACES: dict[str, tuple[str, dict[str, Any]]] = {
    "openai-chat": ("/v1/chat/completions", {"messages": PROMPT, "stream": True}),
    "ollama": ("/api/chat", {"messages": PROMPT, "stream": True}),
    "ollama generate": ("/api/generate", {"prompt": "go", "stream": True}),
    "anthropic": ("/v1/messages", {"messages": PROMPT, "max_tokens": 200, "stream": True}),
    "responses": ("/v1/responses", {"input": "go", "stream": True}),
}


def events_for(tokens: int) -> list[StreamEvent]:
    words = [f"w{n} " for n in range(tokens)]
    message = AssistantMessage(
        content="".join(words), model=MODEL.key, stop_reason="stop", usage=Usage(3, tokens)
    )
    return [Start(MODEL.key), *(TextDelta(w) for w in words), Done(message)]


def provider(tokens: int) -> Callable[[str], Any]:
    """A stream function (for `Router(stream_for=...)`) that yields ready events."""
    events = events_for(tokens)

    async def stream(
        model: Model, context: Context, options: StreamOptions, http: Any
    ) -> AsyncIterator[StreamEvent]:
        for event in events:
            yield event

    return lambda api: stream


def one_model() -> Catalog:
    status = ProviderStatus("ollama", "ollama", MODEL.base_url, "discovered", None, True, True)
    return Catalog(models=(MODEL,), providers={"ollama": status})


def app_for(tokens: int, state: Path) -> Any:
    catalog = one_model()

    async def build() -> Catalog:
        return catalog

    source = CatalogSource(catalog, build, ttl=1e9)
    router = Router({}, stream_for=provider(tokens))
    runtime = Runtime(Config(), {}, state, None, source, router)  # type: ignore[arg-type]
    return create_app(runtime, token=TOKEN)


async def one_request(app: Any, path: str, body: bytes) -> int:
    headers = [
        (b"host", b"127.0.0.1:8080"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {TOKEN}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    sent = [False]
    never = asyncio.Event()
    written = 0

    async def receive() -> dict[str, Any]:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await never.wait()  # the client stays until the answer is written
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal written
        written += len(message.get("body", b""))

    await app(scope, receive, send)
    return written


async def whole_app(app: Any, face: str, requests: int) -> float:
    path, body = FACES[face]
    data = json.dumps({"model": MODEL.key, **body}).encode()
    started = time.process_time()
    for _ in range(requests // AT_ONCE):
        sizes = await asyncio.gather(*(one_request(app, path, data) for _ in range(AT_ONCE)))
        assert min(sizes) > 0
    return time.process_time() - started


async def chain_alone(tokens: int, requests: int) -> float:
    context = Context("", ())
    inner = provider(tokens)
    started = time.process_time()
    for _ in range(requests):
        chain = FallbackChain([MODEL], None, stream_for=inner)  # type: ignore[arg-type]
        async for _event in chain.run(context):
            pass
    return time.process_time() - started


async def events_alone(tokens: int, requests: int) -> float:
    stream = provider(tokens)("ollama")
    context = Context("", ())
    started = time.process_time()
    for _ in range(requests):
        async for _event in stream(MODEL, context, StreamOptions(), None):
            pass
    return time.process_time() - started


def encoder(face: str) -> Any:
    """The face's encoder, as its route makes it."""
    if face == "openai-chat":
        from openclaw.gateway.openai_api import Completion

        return Completion(MODEL.key)
    if face == "anthropic":
        from openclaw.gateway.anthropic_api import MessageAnswer

        return MessageAnswer(MODEL.key)
    if face == "responses":
        from openclaw.gateway.openai_responses import ResponseAnswer

        return ResponseAnswer(MODEL.key, {})
    try:
        from openclaw.gateway.ollama_answer import OllamaAnswer

        return OllamaAnswer(MODEL.key, lambda key: key, generate=face == "ollama generate")
    except ImportError:  # an older version: the answer took the catalog
        from openclaw.gateway.ollama_api import OllamaAnswer  # type: ignore[attr-defined]

        return OllamaAnswer(MODEL.key, one_model(), generate=face == "ollama generate")


async def encoder_alone(face: str, tokens: int, requests: int) -> float:
    events = events_for(tokens)
    started = time.process_time()
    for _ in range(requests):
        answer = encoder(face)
        answer.role()
        for event in events:
            if isinstance(event, TextDelta):
                answer.text(event.text)
            elif isinstance(event, Done):
                answer.finish(event.message)
    return time.process_time() - started


Measure = Callable[[int], Awaitable[float]]


def measures(state: Path, requests: int) -> dict[str, Measure]:
    apps = {tokens: app_for(tokens, state / str(tokens)) for tokens in (SHORT, LONG)}
    found: dict[str, Measure] = {
        "provider events": lambda t: events_alone(t, requests),
        "fallback chain": lambda t: chain_alone(t, requests),
    }
    for face in FACES:
        found[f"{face} encoder"] = lambda t, f=face: encoder_alone(f, t, requests)  # type: ignore[misc]
        found[f"{face} app"] = lambda t, f=face: whole_app(apps[t], f, requests)  # type: ignore[misc]
    return found


def run(rounds: int, requests: int) -> dict[str, dict[str, float]]:
    logging.getLogger("openclaw.gateway.access").setLevel(logging.INFO)  # lines made, not shown
    logging.getLogger("openclaw.gateway.access").addHandler(logging.NullHandler())
    logging.getLogger("openclaw.gateway.access").propagate = False
    seconds: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as state:
        for tokens in (SHORT, LONG):
            (Path(state) / str(tokens)).mkdir()
        found = measures(Path(state), requests)
        loop = asyncio.new_event_loop()
        for measure in found.values():  # warm-up: imports, first-use caches
            for tokens in (SHORT, LONG):
                loop.run_until_complete(measure(tokens))
        for n in range(rounds):
            names = list(found)
            names = names[n % len(names) :] + names[: n % len(names)]
            for name in names:
                for tokens in (SHORT, LONG):
                    gc.collect()
                    spent = loop.run_until_complete(found[name](tokens))
                    seconds.setdefault((name, tokens), []).append(spent)
        loop.close()
    out: dict[str, dict[str, float]] = {}
    for name in found:
        short = min(seconds[name, SHORT]) / requests
        long = min(seconds[name, LONG]) / requests
        out[name] = {
            "requestMs": round(short * 1000, 3),
            "chunkUs": round((long - short) / (LONG - SHORT) * 1e6, 2),
        }
    for face in FACES:  # what is left of the app once the measured layers are taken out
        app, enc = out[f"{face} app"], out[f"{face} encoder"]
        chain = out["fallback chain"]
        out[f"{face} rest"] = {
            "requestMs": round(app["requestMs"] - enc["requestMs"] - chain["requestMs"], 3),
            "chunkUs": round(app["chunkUs"] - enc["chunkUs"] - chain["chunkUs"], 2),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200, help="chats per measure")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    requests = max(AT_ONCE, args.requests // AT_ONCE * AT_ONCE)
    results = run(args.rounds, requests)
    rows = [(name, f"{r['requestMs']:.3f}", f"{r['chunkUs']:.1f}") for name, r in results.items()]
    print(f"{requests} chats per measure, {args.rounds} rounds; Python {sys.version.split()[0]}")
    print_table(["layer", "ms per request", "us per chunk"], rows)
    write_json(args.json, "gateway_layers", vars(args), results)


if __name__ == "__main__":
    main()
