"""The README's `openclaw bench` report: the Ollama emulator set up as an 8B model on a 7 GiB
GPU (a 32k window spills part of it onto the CPU), `openclaw bench`, then
`openclaw config set agents.defaults.contextCap 8192`, `openclaw bench` again and
`openclaw bench --compare`.

    python -m benchmarks.toolkit_bench_demo
"""

from __future__ import annotations

import os
import tempfile

from tests.fakes.ollama_admin import Speeds
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

from openclaw.cli.main import main as openclaw

QWEN = FakeModel(
    "qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960, size=5_225_387_923
)
BENCH = ["bench", "ollama/qwen3:8b", "--sizes", "64,1024,4096", "--tokens", "64"]


def main() -> None:
    emu = OllamaEmulator(models=[QWEN])
    emu.admin.speeds = Speeds(
        load_seconds=3.4, warm_load_seconds=0.004, prompt_tps=1450, eval_tps=38, paced=True
    )
    emu.admin.gpu_memory = 7 * 2**30
    with tempfile.TemporaryDirectory() as state, serve_in_thread(emu.app) as url:
        os.environ.update(OLLAMA_API_KEY="ollama-local", OLLAMA_HOST=url, OPENCLAW_STATE_DIR=state)
        for step in ("before", "after"):
            if step == "after":
                openclaw(["config", "set", "agents.defaults.contextCap", "8192"])
            # one unload, the cold and warm loads, three prompt sizes and the follow-up
            emu.queue_chat(*[ChatReply(text=" ".join(["token"] * 64)) for _ in range(6)])
            print("$ openclaw " + " ".join(BENCH))
            openclaw(BENCH)
        print("$ openclaw bench --compare")
        openclaw(["bench", "--compare"])


if __name__ == "__main__":
    main()
