"""Each face's streamed chunks, byte by byte: compact JSON with the text as the model wrote it,
however long the answer (each face writes a chunk from a template around its text)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.emulators import RunningGateway
from tests.face_setups import TOKEN, ChatReply, emu, gateway
from tests.fakes.ollama_server import OllamaEmulator

__all__ = ["emu", "gateway"]

# Quotes, backslashes, control and line-separator characters, CJK, emoji: all must survive.
PIECES = ['He said "hi"', " back\\slash", "\n", "\t", "\u2028", " 中文", " 😀", " é", " </"]
CHUNKS = [PIECES[n % len(PIECES)] + f" {n}" for n in range(300)]
PROMPT = [{"role": "user", "content": "go"}]

# face -> (path, body, the text of one streamed data object or "")
FACES: dict[str, tuple[str, dict[str, Any], Any]] = {
    "openai chat": (
        "/v1/chat/completions",
        {"model": "ollama/qwen3:8b", "messages": PROMPT, "stream": True},
        lambda d: (d.get("choices") or [{}])[0].get("delta", {}).get("content") or "",
    ),
    "ollama chat": (
        "/api/chat",
        {"model": "qwen3:8b", "messages": PROMPT},
        lambda d: d.get("message", {}).get("content", ""),
    ),
    "ollama generate": (
        "/api/generate",
        {"model": "qwen3:8b", "prompt": "go"},
        lambda d: d.get("response", ""),
    ),
    "anthropic": (
        "/v1/messages",
        {"model": "qwen3:8b", "messages": PROMPT, "max_tokens": 4000, "stream": True},
        lambda d: d.get("delta", {}).get("text", "") if d["type"] == "content_block_delta" else "",
    ),
    "responses": (
        "/v1/responses",
        {"model": "qwen3:8b", "input": "go", "stream": True},
        lambda d: d["delta"] if d["type"] == "response.output_text.delta" else "",
    ),
}


def _objects(body: bytes) -> list[bytes]:
    """The JSON objects of an SSE or NDJSON body, as sent."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    if lines[0].startswith((b"data: ", b"event: ")):
        return [line[6:] for line in lines if line.startswith(b"data: {")]
    return lines


@pytest.mark.parametrize("face", list(FACES))
async def test_a_long_answer_streams_as_compact_json_with_its_text_intact(
    face: str, gateway: RunningGateway, emu: OllamaEmulator
) -> None:
    path, body, text_of = FACES[face]
    emu.queue_chat(ChatReply(text_chunks=CHUNKS))
    headers = {"Authorization": f"Bearer {TOKEN}", "x-api-key": TOKEN}
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.url + path, json=body, headers=headers) as response,
    ):
        assert response.status == 200
        raw = await response.read()
    objects = _objects(raw)
    decoded = [json.loads(o) for o in objects]
    for sent, data in zip(objects, decoded, strict=True):
        compact = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        assert sent == compact
    assert "".join(text_of(d) for d in decoded) == "".join(CHUNKS)
    if face == "responses":  # the item's whole text, joined once it is done
        done = [d for d in decoded if d["type"] == "response.output_text.done"]
        assert [d["text"] for d in done] == ["".join(CHUNKS)]
        final = decoded[-1]["response"]["output"][-1]["content"][0]["text"]
        assert final == "".join(CHUNKS)
