"""How agent events look in a terminal: the answer on stdout, everything else on stderr.

On a terminal the answer streams as it comes. When stdout is a pipe or a file it carries only
the final answer, written once the run is done: text that a failed attempt streamed before a
fallback restarted the answer never reaches it, and text of turns that led to tool calls goes to
stderr with the notices.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TextIO

from openclaw.agent.events import (
    AgentDone,
    AgentEvent,
    AgentFailed,
    Compacted,
    ToolEnd,
    ToolStart,
    TurnEnd,
    TurnStart,
)
from openclaw.cli.render import dim
from openclaw.providers.events import Notice, TextDelta, ThinkingDelta
from openclaw.runtime.fallback import Retry, Switch

__all__ = ["AgentView", "describe_call"]


def describe_call(name: str, arguments: dict[str, object], width: int = 80) -> str:
    args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items())
    line = f"{name}({args})"
    return line if len(line) <= width else line[: width - 1] + "…"


@dataclass
class AgentView:
    """How an agent run is shown in the terminal."""

    show_thinking: bool = False
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    final_only: bool | None = None  # None: when stdout is not a terminal
    _at_line_start: bool = True
    _thinking_open: bool = False
    _pending: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.final_only is None:
            isatty = getattr(self.out, "isatty", None)
            self.final_only = not (isatty() if callable(isatty) else False)

    def _text(self, text: str) -> None:
        if self._thinking_open:
            self.err.write("\n")
            self._thinking_open = False
        if self.final_only:
            self._pending.append(text)
            return
        self.out.write(text)
        self.out.flush()
        self._at_line_start = text.endswith("\n")

    def _turn_text_to_stderr(self) -> None:
        """A turn that ends in tool calls: its text is not the final answer."""
        text = "".join(self._pending).strip()
        self._pending.clear()
        if text:
            print(dim(text, self.err), file=self.err, flush=True)

    def _note(self, line: str) -> None:
        if not self._at_line_start:
            self.out.write("\n")
            self.out.flush()
            self._at_line_start = True
        if self._thinking_open:
            self.err.write("\n")
            self._thinking_open = False
        print(line, file=self.err, flush=True)

    def show(self, event: AgentEvent) -> None:
        match event:
            case TextDelta(text=text):
                self._text(text)
            case ThinkingDelta(text=text) if self.show_thinking:
                self.err.write(dim(text, self.err))
                self.err.flush()
                self._thinking_open = True
            case Notice(message=message):
                self._note(f"warning: {message}")
            case Switch(failed=failed, next=following, reason=reason, restarted=restarted):
                if restarted:
                    self._pending.clear()  # kept in the session, never shown as the answer
                again = "; the answer starts again" if restarted else ""
                self._note(f"note: {failed} failed ({reason}); trying {following}{again}")
            case Retry(model=model, attempt=n, delay=delay, reason=reason):
                self._note(
                    dim(f"note: {model} busy ({reason}); retry {n} in {delay:g} s", self.err)
                )
            case ToolStart(call=call):
                self._note(dim(f"→ {describe_call(call.name, call.arguments)}", self.err))
            case ToolEnd(result=result, is_error=failed, duration=seconds, size=size):
                if failed:
                    self._note(f"  ✗ {result.splitlines()[0] if result else 'failed'}")
                else:
                    self._note(dim(f"  ✓ {size} chars in {seconds:.2f} s", self.err))
            case Compacted() as compacted:
                self._note(compaction_note(compacted))
            case TurnStart():
                pass
            case TurnEnd(message=m) if self.final_only and m.tool_calls:
                self._turn_text_to_stderr()
            case AgentDone(message=m, usage=usage):
                if self.final_only:
                    self._pending.clear()
                    if m.content:
                        self.out.write(m.content if m.content.endswith("\n") else m.content + "\n")
                    self._at_line_start = True
                elif not self._at_line_start:
                    self.out.write("\n")
                    self._at_line_start = True
                self.out.flush()
                self._note(dim(f"[{m.model} · {usage.input} in / {usage.output} out]", self.err))
            case AgentFailed(reason=reason, attempts=attempts):
                self._pending.clear()  # a partial answer is not an answer
                self._note(f"error: {reason}")
                errors = [a for a in attempts if a.kind not in ("ok", "skipped")]
                if len(errors) > 1 or (errors and errors[-1].message != reason):
                    for n, a in enumerate(attempts, 1):
                        self._note(f"  {n}. {a.model}: {a.kind}: {a.message} ({a.duration:.1f} s)")
            case _:
                pass


def compaction_note(event: Compacted) -> str:
    """What a compaction did, truthfully: never "0 messages", never a growth called a cut."""
    done = []
    if event.removed_messages:
        how = "summarised" if event.summarized else "dropped (summarising failed)"
        done.append(f"{event.removed_messages} older messages {how}")
    if event.cut_tool_results:
        done.append(f"{event.cut_tool_results} tool results shortened")
    window = f" of {event.model} ({event.window} tokens)" if event.model else ""
    sizes = f"about {event.tokens_before} -> {event.tokens_after} tokens"
    if event.tokens_after >= event.tokens_before:
        sizes = f"about {event.tokens_after} tokens"
    return f"note: compacted to fit the context window{window}: {', '.join(done)}; {sizes}"
