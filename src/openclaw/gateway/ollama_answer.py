"""Ollama's answers: `/api/chat` and `/api/generate` as NDJSON lines or one object."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from openclaw.gateway.encoding import compact, string
from openclaw.providers.events import AssistantMessage, ToolCall

__all__ = ["NDJSON", "OllamaAnswer", "now"]

NDJSON = [(b"content-type", b"application/x-ndjson")]


def now() -> str:
    """The time as Ollama writes it in `created_at`."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class OllamaAnswer:
    """One `/api/chat` (or, with `generate`, `/api/generate`) answer as NDJSON lines or one
    object; `model` is kept in the client's names."""

    stream_headers = NDJSON

    def __init__(
        self, model: str, client_names: Callable[[str], str], *, generate: bool = False
    ) -> None:
        self._client_name = client_names  # a catalog key -> the name the client knows
        self._name = client_names(model)
        self.generate = generate
        self.started = time.perf_counter()
        self._second = 0  # the second `_time` formatted last, and how
        self._second_text = ""
        self.calls_sent = 0

    @property
    def model(self) -> str:
        return self._name

    @model.setter
    def model(self, key: str) -> None:
        self._name = self._client_name(key)

    def _part(
        self, content: str = "", thinking: str = "", calls: list[Any] | None = None
    ) -> dict[str, Any]:
        if self.generate:
            out: dict[str, Any] = {"response": content}
            if thinking:
                out["thinking"] = thinking
            return out
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if thinking:
            message["thinking"] = thinking
        if calls:
            message["tool_calls"] = calls
        return {"message": message}

    def _line(self, data: dict[str, Any]) -> bytes:
        head = {"model": self._name, "created_at": now()}
        return f"{compact({**head, **data})}\n".encode()

    def _call(self, call: ToolCall) -> dict[str, Any]:
        index = self.calls_sent
        self.calls_sent += 1
        return {
            "id": call.id,
            "function": {"index": index, "name": call.name, "arguments": call.arguments},
        }

    def _end(self, message: AssistantMessage) -> dict[str, Any]:
        total = int((time.perf_counter() - self.started) * 1e9)
        return {
            "done": True,
            "done_reason": "length" if message.stop_reason == "length" else "stop",
            "total_duration": total,
            "load_duration": 0,
            "prompt_eval_count": message.usage.input,
            "eval_count": message.usage.output,
        }

    def role(self) -> bytes:
        return b""

    def _time(self) -> str:
        """`now()` for a delta: the date and time to the second are formatted once a second."""
        moment = time.time()
        second = int(moment)
        if second != self._second:
            self._second = second
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._second_text}.{int((moment - second) * 1e6):06d}Z"

    def _delta(self, content: str, thinking: str) -> bytes:
        """`_line` for a text or thinking delta: only the texts and the time are encoded."""
        head = f'{{"model":{string(self._name)},"created_at":"{self._time()}",'
        if self.generate:
            part = f'"response":{string(content)}'
        else:
            part = f'"message":{{"role":"assistant","content":{string(content)}'
        if thinking:
            part += f',"thinking":{string(thinking)}'
        if not self.generate:
            part += "}"
        return f'{head}{part},"done":false}}\n'.encode()

    def text(self, text: str) -> bytes:
        return self._delta(text, "")

    def thinking(self, text: str) -> bytes:
        return self._delta("", text)

    def tool_call(self, call: ToolCall) -> bytes:
        if self.generate:
            return b""
        return self._line({**self._part(calls=[self._call(call)]), "done": False})

    def finish(self, message: AssistantMessage) -> bytes:
        if message.model:
            self.model = message.model
        return self._line({**self._part(), **self._end(message)})

    def notice(self, notice: dict[str, str]) -> bytes:
        """A line with nothing to show that carries an OpenClaw notice (`openclaw_notice`:
        Ollama clients ignore fields they do not know)."""
        return self._line({**self._part(), "done": False, "openclaw_notice": notice})

    def error(self, message: str, type_: str, code: str | None) -> bytes:
        return json.dumps({"error": message}, ensure_ascii=False).encode() + b"\n"

    def whole(self, message: AssistantMessage) -> dict[str, Any]:
        if message.model:
            self.model = message.model
        calls = [self._call(c) for c in message.tool_calls]
        part = self._part(message.content, message.thinking, calls)
        return {"model": self._name, "created_at": now(), **part, **self._end(message)}

    def failure(self, status: int, message: str, type_: str, code: str | None) -> bytes:
        return json.dumps({"error": message}, ensure_ascii=False).encode()
