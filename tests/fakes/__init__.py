"""Emulators of the servers OpenClaw talks to (Ollama, OpenAI-compatible, Anthropic), for tests and
benchmarks. They are written from the protocol references, not from the client code."""
