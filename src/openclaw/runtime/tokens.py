"""Per-model calibration of the token estimate, learned from the server's own counts.

After each answer the server says how many prompt tokens it read (`prompt_eval_count` for Ollama,
`usage.prompt_tokens` elsewhere). The ratio of that count to the raw estimate is the model's
calibration; it is kept in the state directory (`token-calibration.json`) so the next run starts
calibrated. Rules that keep it safe:

- a count above the estimate raises the ratio at once (an under-estimate risks truncation);
- a count below it lowers the ratio slowly, and a count below half the estimate is ignored: that
  is a server reporting only the uncached part of a prompt whose prefix it had cached (older
  Ollama versions do), not a smaller tokenizer;
- the ratio stays between 0.5 and 3.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CALIBRATION_FILE", "Calibration"]

CALIBRATION_FILE = "token-calibration.json"
LOWEST, HIGHEST = 0.5, 3.0
MIN_TOKENS = 64  # tiny prompts say little about a tokenizer
SLOW = 0.3  # weight of a new, lower observation


@dataclass
class Calibration:
    """Ratios by model key ("provider/id"); `path` None keeps them in memory only."""

    path: Path | None = None
    ratios: dict[str, float] = field(default_factory=dict)

    @classmethod
    def load(cls, state: Path) -> Calibration:
        path = state / CALIBRATION_FILE
        ratios: dict[str, float] = {}
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                for key, value in data.items():
                    if isinstance(key, str) and isinstance(value, int | float):
                        ratios[key] = min(HIGHEST, max(LOWEST, float(value)))
        return cls(path, ratios)

    def ratio(self, model: str) -> float:
        return self.ratios.get(model, 1.0)

    def observe(self, model: str, estimated: int, counted: int) -> float:
        """Learn from one answer: `estimated` raw tokens sent, `counted` read by the server."""
        if estimated < MIN_TOKENS or counted <= 0:
            return self.ratio(model)
        seen = counted / estimated
        old = self.ratios.get(model)
        if old is None:
            new = seen if seen >= 0.5 else 1.0
        elif seen > old:
            new = seen
        elif seen >= old / 2:
            new = old + (seen - old) * SLOW
        else:
            return old  # a cached prefix not counted: says nothing about the tokenizer
        new = round(min(HIGHEST, max(LOWEST, new)), 4)
        if new != old:
            self.ratios[model] = new
            self._save(model, new)
        return new

    def refused(self, model: str, estimated: int, window: int) -> float:
        """The server refused `estimated` raw tokens as longer than `window`: the real ratio is
        above window / estimated, so the ratio is raised past it."""
        if estimated <= 0 or window <= 0:
            return self.ratio(model)
        new = round(min(HIGHEST, max(self.ratio(model), window / estimated * 1.1)), 4)
        if new != self.ratios.get(model):
            self.ratios[model] = new
            self._save(model, new)
        return new

    def _save(self, model: str, ratio: float) -> None:
        """Write this model's ratio, keeping what other processes wrote for other models."""
        if self.path is None:
            return
        merged = Calibration.load(self.path.parent).ratios
        merged[model] = ratio
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(merged, indent=1, sort_keys=True), "utf-8")
            os.replace(temporary, self.path)
