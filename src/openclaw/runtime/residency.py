"""What a loaded model costs the machine, in the user's words: memory split between GPU and RAM,
how long it stays loaded, and what to do when it spills onto the CPU."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openclaw.providers.model import Model

__all__ = ["describe_expiry", "gib", "offload_warning", "ram_bytes"]

_FOREVER_AFTER_DAYS = 365 * 10


def gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB"


def ram_bytes(loaded: dict[str, Any]) -> int:
    """Bytes of a loaded model held in system memory (on the CPU)."""
    return max(0, int(loaded.get("size") or 0) - int(loaded.get("size_vram") or 0))


def describe_expiry(value: object, now: datetime | None = None) -> str:
    """ "in 29 min", "forever", "now" or "-" for an `/api/ps` `expires_at`."""
    if not isinstance(value, str) or not value:
        return "-"
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    now = now or datetime.now(UTC)
    seconds = (when - now).total_seconds()
    if seconds > _FOREVER_AFTER_DAYS * 86400:
        return "forever"
    if seconds <= 0:
        return "now"
    if seconds < 90:
        return f"in {seconds:.0f} s"
    if seconds < 5400:
        return f"in {seconds / 60:.0f} min"
    return f"in {seconds / 3600:.1f} h"


def offload_warning(key: str, loaded: dict[str, Any], window: int, model: Model | None) -> str:
    """A warning when part of a loaded model is on the CPU, naming the window and how to lower
    it; "" when it is all on the GPU (or the server does not say)."""
    size = int(loaded.get("size") or 0)
    vram = int(loaded.get("size_vram") or 0)
    if not size or vram >= size:
        return ""
    share = ram_bytes(loaded) / size
    actual = loaded.get("context_length")
    window = actual if isinstance(actual, int) and actual > 0 else window
    smaller = max(2048, window // 2)
    if model is not None and isinstance(model.params.get("num_ctx"), int):
        how = f"lower `params.num_ctx` on its model entry (for example to {smaller})"
    elif model is not None and model.modelfile_num_ctx:
        how = (
            f"its Modelfile sets num_ctx {model.modelfile_num_ctx}: give its model entry"
            f" `params.num_ctx` {smaller}"
        )
    else:
        how = f"run `openclaw config set agents.defaults.contextCap {smaller}`"
    return (
        f"{key} is {share:.0%} on the CPU ({gib(ram_bytes(loaded))} in RAM), which makes it"
        f" several times slower: its window in effect is {window} tokens; to fit the GPU, {how}"
        " or choose a smaller model"
    )
