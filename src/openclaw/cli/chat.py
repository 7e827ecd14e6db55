"""`openclaw chat`: an interactive terminal session on the agent runtime."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from openclaw.cli.common import Setup, run_async, with_catalog
from openclaw.errors import UserError
from openclaw.providers.events import THINKING_LEVELS, ThinkingLevel

if TYPE_CHECKING:
    from openclaw.agent.loop import Agent
    from openclaw.agent.store import Store

__all__ = ["build_parser", "main"]

HELP = """commands:
  /model REF        switch model (the conversation continues)
  /models           list available models
  /new              start a new session
  /sessions         recent sessions
  /thinking LEVEL   off, low, medium or high
  /compact          summarise older turns now to free context
  /help             this list
  /exit             leave (Ctrl-D works too)"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openclaw chat", description="Chat with the agent.")
    parser.add_argument("--model", metavar="REF")
    parser.add_argument("--session", metavar="ID", help="continue this session")
    parser.add_argument("--thinking", choices=THINKING_LEVELS)
    parser.add_argument("--workspace", metavar="DIR")
    parser.add_argument(
        "--hide-thinking", action="store_true", help="do not show the model's reasoning"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return run_async(with_catalog(lambda setup: Chat(setup, args).loop()))


class Chat:
    def __init__(self, setup: Setup, args: argparse.Namespace) -> None:
        self.setup = setup
        self.args = args
        self.model: str | None = args.model
        self.thinking: ThinkingLevel | None = args.thinking

    def _agent(self, store: Store, session: str) -> Agent:
        from openclaw.agent.setup import make_agent
        from openclaw.cli.agent import ask_in_terminal

        return make_agent(
            self.setup.catalog,
            self.setup.loaded.config,
            self.setup.state,
            self.setup.http,
            model=self.model,
            thinking=self.thinking,
            workspace=self.args.workspace,
            store=store,
            session_id=session,
            approve=ask_in_terminal,
        )

    async def loop(self) -> int:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        from openclaw.agent.store import open_store

        history = FileHistory(str(self._history_file()))
        prompt: PromptSession[str] = PromptSession(history=history)
        with open_store(self.setup.loaded.config, self.setup.state) as store:
            session = store.resolve(self.args.session) if self.args.session else ""
            agent = self._agent(store, session)
            print(f"openclaw chat · {agent.models[0].key} · /help for commands", flush=True)
            while True:
                try:
                    line = (await prompt.prompt_async("› ")).strip()
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                if not line:
                    continue
                if line.startswith("/"):
                    try:
                        result = await self._command(line, agent, store)
                    except UserError as error:
                        print(f"error: {error}", flush=True)
                        continue
                    if result is None:
                        break
                    agent = result
                    continue
                await self._ask(agent, line)
        return 0

    def _history_file(self) -> Path:
        self.setup.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.setup.state / "chat-history"

    async def _ask(self, agent: Agent, text: str) -> None:
        from openclaw.agent.events import AgentDone
        from openclaw.cli.agent_view import AgentView
        from openclaw.cli.loading import agent_events
        from openclaw.cli.render import dim

        view = AgentView(show_thinking=not self.args.hide_thinking, final_only=False)
        loop = asyncio.get_running_loop()
        agent.abort.clear()
        loop.add_signal_handler(signal.SIGINT, agent.abort.set)
        done: AgentDone | None = None
        try:
            async for event in agent_events(agent.run(text), agent.models, self.setup.http):
                if isinstance(event, AgentDone):
                    done = event
                view.show(event)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
        used, window = agent.context_tokens()
        model = done.message.model if done else agent.models[0].key
        status = f"{model} · context {used}/{window} tokens ({used * 100 // max(window, 1)}%)"
        if done:
            status += f" · {done.usage.input} in / {done.usage.output} out"
        print(dim(status, sys.stdout), flush=True)

    async def _command(self, line: str, agent: Agent, store: Store) -> Agent | None:
        from openclaw.cli.render import table

        name, _, rest = line.partition(" ")
        rest = rest.strip()
        match name:
            case "/exit" | "/quit":
                return None
            case "/help":
                print(HELP)
            case "/model":
                if not rest:
                    print(f"model: {agent.models[0].key}")
                    return agent
                self.setup.catalog.resolve(rest)
                self.model = rest
                agent = self._agent(store, agent.session_id)
                print(f"model: {agent.models[0].key}")
            case "/models":
                for model in self.setup.catalog.available():
                    mark = "*" if model == agent.models[0] else " "
                    print(f"{mark} {model.key}")
            case "/new":
                agent = self._agent(store, "")
                print("new session")
            case "/sessions":
                rows = [[s.id, s.model, s.title[:50]] for s in store.list(limit=10)]
                print(table(["Session", "Model", "Title"], rows) if rows else "no sessions yet")
            case "/thinking":
                if rest not in THINKING_LEVELS:
                    raise UserError(f"/thinking takes one of: {', '.join(THINKING_LEVELS)}")
                self.thinking = rest  # type: ignore[assignment]
                agent = self._agent(store, agent.session_id)
                print(f"thinking: {rest}")
            case "/compact":
                compacted = await agent.compact_now()
                if compacted is None:
                    print("nothing to compact")
                else:
                    print(
                        f"compacted {compacted.removed_messages} messages:"
                        f" {compacted.tokens_before} -> {compacted.tokens_after} tokens"
                    )
            case _:
                print(f"unknown command {name}; /help lists them")
        return agent
