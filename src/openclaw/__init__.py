"""OpenClaw: a local-first model layer and agent runtime."""

__version__ = "0.1.0"
__all__ = ["__version__"]
