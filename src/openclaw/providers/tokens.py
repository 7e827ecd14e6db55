"""A cheap prompt-size estimate (about four characters per token), used to keep prompts inside
the context window and to notice when a server silently truncated one."""

from __future__ import annotations

import json

from openclaw.providers.events import AssistantMessage, Context, ToolResultMessage, UserMessage

__all__ = ["CHARS_PER_TOKEN", "estimate_context_tokens", "estimate_text_tokens"]

CHARS_PER_TOKEN = 4
PER_MESSAGE = 4
PER_IMAGE = 768


def estimate_text_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def estimate_context_tokens(context: Context) -> int:
    total = estimate_text_tokens(context.system) + PER_MESSAGE if context.system else 0
    for message in context.messages:
        total += PER_MESSAGE
        match message:
            case UserMessage(content=content, images=images):
                total += estimate_text_tokens(content) + PER_IMAGE * len(images)
            case AssistantMessage(content=content, tool_calls=calls):
                total += estimate_text_tokens(content)
                for call in calls:
                    total += estimate_text_tokens(call.name + json.dumps(call.arguments))
            case ToolResultMessage(content=content):
                total += estimate_text_tokens(content)
    for tool in context.tools:
        total += estimate_text_tokens(tool.name + tool.description + json.dumps(tool.parameters))
    return total
