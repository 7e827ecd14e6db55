"""The conversation of one run, held in memory.

It is loaded from the session store once, when the run starts; every message is written through
to the store as it is added. What compaction decided is recorded with it: a summary goes to the
store (so later turns and later runs start from it, and never summarise it again), and tool
results cut to fit stay cut for the rest of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from openclaw.providers.events import AssistantMessage, Message, UserMessage
from openclaw.runtime.context import SUMMARY_PREFIX, Compaction

if TYPE_CHECKING:
    from openclaw.agent.store import Store

__all__ = ["Conversation"]


@dataclass
class Conversation:
    """The messages of one session, kept in its store as they come."""

    store: Store | None
    session_id: str
    messages: list[Message] = field(default_factory=list)

    @classmethod
    def load(
        cls, store: Store | None, session_id: str, history: Sequence[Message] = ()
    ) -> Conversation:
        if store is not None and session_id:
            return cls(store, session_id, store.context_messages(session_id))
        return cls(None, "", list(history))

    @property
    def stored(self) -> bool:
        return self.store is not None and bool(self.session_id)

    def add(self, message: Message, duration: float = 0.0) -> None:
        """A complete message: kept here and written to the store."""
        if self.store is not None and self.session_id:
            self.store.append(self.session_id, message, duration=duration)
        self.messages.append(message)

    def add_answer(self, message: AssistantMessage) -> None:
        """An answer the store already holds (it was saved while it streamed)."""
        self.messages.append(message)

    def answered_by(self) -> str:
        """provider/id of the model that wrote the latest answer, or ""."""
        for message in reversed(self.messages):
            if isinstance(message, AssistantMessage) and message.model:
                return message.model
        return ""

    def apply(self, compaction: Compaction) -> None:
        """Make `compaction` the conversation from now on; a real summary is stored."""
        if compaction.removed and compaction.summarized and self.store and self.session_id:
            self.store.add_summary(self.session_id, compaction.summary, self._through())
        self.messages = list(compaction.messages)

    def _through(self) -> int:
        """Sequence number of the last stored message before the latest user message."""
        assert self.store is not None
        rows = self.store.transcript(self.session_id)
        users = [
            r.seq
            for r in rows
            if r.complete
            and r.kind == "message"
            and isinstance(r.message, UserMessage)
            and not r.message.content.startswith(SUMMARY_PREFIX)
        ]
        return users[-1] - 1 if users else 0
