"""Telling secrets apart: by the name that holds them (a config key, an HTTP header, an
environment variable) and by the shape of the value itself (`sk-...`, `ghp_...`, a URL with a
password). Used wherever a value could end up in a message, and to keep provider keys out of
the commands the agent runs."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "PROVIDER_VARIABLES",
    "command_environment",
    "is_secret_env_name",
    "is_secret_header",
    "looks_like_secret",
]

# Known variables holding provider credentials (the name patterns below catch most, not all).
PROVIDER_VARIABLES = frozenset(
    {
        "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OLLAMA_API_KEY",
        "OPENROUTER_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "GROQ_API_KEY",
        "MISTRAL_API_KEY", "DEEPSEEK_API_KEY", "XAI_API_KEY", "TOGETHER_API_KEY",
        "FIREWORKS_API_KEY", "CEREBRAS_API_KEY", "PERPLEXITY_API_KEY", "COHERE_API_KEY",
        "AZURE_OPENAI_API_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
        "GITHUB_TOKEN", "GH_TOKEN", "OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD",
        "CLAUDE_CODE_OAUTH_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS", "SSH_AUTH_SOCK",
    }
)  # fmt: skip
_SECRET_PARTS = frozenset(
    {
        "KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "PWD_SECRET",
        "CREDENTIAL", "CREDENTIALS", "AUTH", "COOKIE", "PAT", "PRIVATE",
    }
)  # fmt: skip
_SAFE_NAMES = frozenset({"PWD", "OLDPWD", "XAUTHORITY", "KEYMAP"})
_HEADER_WORDS = ("auth", "token", "key", "secret", "cookie", "signature", "password", "session")
_SECRET_VALUE = re.compile(
    r"""
      \b(?:sk|pk|rk)-[A-Za-z0-9_\-]{8,}          # OpenAI, Anthropic (sk-ant-), Stripe-like
    | \b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{16,} # GitHub tokens
    | \bgithub_pat_[A-Za-z0-9_]{16,}
    | \bglpat-[A-Za-z0-9_\-]{16,}                # GitLab
    | \bxox[abprs]-[A-Za-z0-9\-]{8,}             # Slack
    | \bhf_[A-Za-z0-9]{16,}                      # Hugging Face
    | \bAIza[A-Za-z0-9_\-]{20,}                  # Google
    | \bA[KS]IA[A-Z0-9]{12,}                     # AWS access key ids
    | \beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,} # a JWT
    | \bBearer\s+\S{8,}
    | ://[^/\s:@]+:[^/\s@]+@                     # a URL with a password in it
    """,
    re.VERBOSE,
)


def looks_like_secret(value: str) -> bool:
    """True when `value` has the shape of a credential, whatever key holds it."""
    return _SECRET_VALUE.search(value) is not None


def is_secret_header(name: str) -> bool:
    """`Authorization`, `X-Api-Key`, `X-Custom-Auth`, `Cookie`, `X-Auth-Token`..."""
    lowered = name.lower()
    return any(word in lowered for word in _HEADER_WORDS)


def is_secret_env_name(name: str) -> bool:
    upper = name.upper()
    if upper in PROVIDER_VARIABLES:
        return True
    if upper in _SAFE_NAMES:
        return False
    return any(part in _SECRET_PARTS for part in re.split(r"[_\-.]+", upper))


def command_environment(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without credentials: every known provider variable, every name with a secret
    word in it (`*_KEY`, `*_TOKEN`, `*SECRET*`, `*PASSWORD*`, `*AUTH*`) and every value that
    looks like a key. What commands the agent runs see."""
    return {
        name: value
        for name, value in env.items()
        if not is_secret_env_name(name) and not looks_like_secret(value)
    }
