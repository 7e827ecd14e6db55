"""Draw docs/dashboard.png: a gateway over the Ollama emulator, real requests for a couple of
minutes (two models; one slows down and spills onto the CPU half-way), then a screenshot of the
dashboard in headless chromium.

    python -m benchmarks.dashboard_picture [--seconds 150] [--out docs/dashboard.png]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.emulators import serve_gateway
from tests.fakes.ollama_admin import Speeds
from tests.fakes.ollama_server import ChatReply, FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread

MODELS = (
    FakeModel("qwen3:8b", ("completion", "tools"), "qwen3", 40960),
    FakeModel("llama3.2:3b", ("completion", "tools"), "llama", 131072, size=2_019_393_189),
)


def ask(url: str, model: str, n: int) -> None:
    question = f"Question {n}: hello"  # a new start each time: the prompt cache cannot help
    body = {"model": model, "messages": [{"role": "user", "content": question}]}
    request = urllib.request.Request(
        f"{url}/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
    except OSError:
        pass  # errors are part of the picture


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=150)
    parser.add_argument("--out", default="docs/dashboard.png")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from openclaw.config import load_config
    from openclaw.gateway.server import GatewaySettings

    emu = OllamaEmulator(models=MODELS)
    emu.admin.speeds = Speeds(load_seconds=1.2, prompt_tps=3000, eval_tps=60, paced=True)
    with tempfile.TemporaryDirectory() as state, serve_in_thread(emu.app) as ollama_url:
        env = {"OLLAMA_API_KEY": "ollama-local", "OLLAMA_HOST": ollama_url}
        env["OPENCLAW_STATE_DIR"] = state
        os.environ.update(env)
        config_path = Path(state) / "openclaw.json"
        config_path.write_text("{}")
        config = load_config(config_path, env).config
        settings = GatewaySettings.from_config(config, env, Path(state), port=0)
        with serve_gateway(settings) as gateway, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{gateway.url}/")  # open all along: memory is sampled as the page polls
            started = time.monotonic()
            n = 0
            while (elapsed := time.monotonic() - started) < args.seconds:
                n += 1
                late = elapsed > args.seconds / 2
                emu.admin.speeds.eval_tps = 25 if late else 60
                emu.admin.gpu_memory = 4 * 2**30 if late else None
                words = " ".join(["word"] * (8 + n % 12))
                if n % 9 == 0:
                    emu.queue_chat(ChatReply(status=500, error="out of memory"))
                    emu.queue_chat(ChatReply(status=500, error="out of memory"))
                else:
                    emu.queue_chat(ChatReply(text=words, prompt_eval_count=200 + (n * 337) % 2400))
                ask(gateway.url, "ollama/qwen3:8b" if n % 3 else "ollama/llama3.2:3b", n)
            page.wait_for_timeout(2500)
            page.locator("#charts-section").screenshot(path=args.out)
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
