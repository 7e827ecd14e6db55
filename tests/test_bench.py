"""`openclaw bench` against the Ollama emulator: it reproduces the emulator's configured speeds,
keeps its runs, and compares two of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openclaw.cli.main import main
from openclaw.runtime.bench import ModelBench, suggestions
from tests.fakes.ollama_admin import Speeds
from tests.fakes.ollama_server import FakeModel, OllamaEmulator

LLAMA = FakeModel("llama3.2:3b", ("completion", "tools"), "llama", 131072)


@pytest.fixture
def emu(ollama: OllamaEmulator, monkeypatch: pytest.MonkeyPatch) -> OllamaEmulator:
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-local")
    monkeypatch.setenv("OLLAMA_HOST", ollama.url)  # type: ignore[attr-defined]
    ollama.add_model(LLAMA)
    ollama.admin.speeds = Speeds(
        load_seconds=0.3, warm_load_seconds=0.002, prompt_tps=9000, eval_tps=400, paced=True
    )
    return ollama


def within(value: float | None, expected: float, share: float = 0.03) -> bool:
    return value is not None and abs(value - expected) <= expected * share


def bench(capsys: pytest.CaptureFixture[str], *extra: str) -> dict:  # type: ignore[type-arg]
    argv = ["bench", "ollama/llama3.2:3b", "--sizes", "64,1500", "--tokens", "32", "--json"]
    assert main([*argv, *extra]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_bench_reproduces_the_configured_speeds(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str], isolated_state: Path
) -> None:
    data = bench(capsys)
    (result,) = data["models"]
    assert result["error"] == ""
    assert within(result["cold_load"], 0.3) and within(result["warm_load"], 0.002)
    assert [r["prompt_tokens"] > 0 for r in result["runs"]] == [True, True]
    for run in result["runs"]:
        assert within(run["prompt_tps"], 9000) and within(run["eval_tps"], 400)
        # the first token cannot come before the emulator's prompt evaluation is over
        assert run["ttft"] >= run["prompt_tokens"] / 9000
    assert result["cold_ttft"] >= 0.3
    assert result["cache_share"] is not None and result["cache_share"] > 0.9
    assert result["window"] == 32768 and result["keep_alive"] == "30m"
    # the requests are the runtime's: same num_ctx and keep_alive as the agent sends
    chats = [b for b in emu.bodies("/api/chat") if b.get("messages")]
    assert {json.dumps(b["options"]) for b in chats} == {
        json.dumps({"num_ctx": 32768, "temperature": 0.0, "num_predict": 32})
    }
    assert {b["keep_alive"] for b in chats} == {"30m"}
    assert emu.bodies("/api/chat")[0] == {"model": "llama3.2:3b", "messages": [], "keep_alive": 0}
    kept = list((isolated_state / "bench").glob("*.json"))
    assert [p.name for p in kept] == [Path(data["saved"]).name]


def test_compare_shows_before_and_after(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--compare"]) == 1
    assert "needs two kept runs" in capsys.readouterr().err
    bench(capsys)
    emu.admin.speeds.load_seconds = 0.1  # e.g. a faster disk, or a smaller quantisation
    bench(capsys)
    assert main(["bench", "--compare", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["figures"]
    cold = next(r for r in rows if r["figure"] == "cold load (s)")
    assert within(cold["before"], 0.3) and within(cold["after"], 0.1)
    assert -70 < cold["changePercent"] < -63
    assert main(["bench", "--compare"]) == 0
    out = capsys.readouterr().out
    assert "cold load (s)" in out and "-67%" in out


def test_bench_table_and_suggestions(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    size = LLAMA.size + 32768 * 131_072
    emu.admin.gpu_memory = size * 3 // 4
    emu.admin.speeds.load_seconds = 2.5
    emu.admin.speeds.paced = False  # counters only: no need to wait 2.5 s
    assert main(["bench", "ollama/llama3.2:3b", "--sizes", "64", "--tokens", "8"]) == 0
    out = capsys.readouterr().out
    assert "ollama/llama3.2:3b  (window 32768, keep_alive 30m)" in out
    assert "load: cold 2.50 s" in out
    assert "Prompt tokens  First token  Prompt tok/s  Generation tok/s  Generated" in out
    assert "memory: " in out and "75% on the GPU" in out
    assert "suggestion: a cold load takes 2.5 s: keep it loaded longer" not in out  # 30m kept
    assert "suggestion: a cold load takes 2.5 s (kept 30m after each request)" in out
    assert "suggestion: 25% of the model is on the CPU at a window of 32768 tokens" in out
    assert "kept as " in out


def test_suggestions_for_a_short_keep_alive_and_a_poor_cache() -> None:
    result = ModelBench("ollama/x", "http://h", 8192, "5m", 0, cold_load=8.0, cache_share=0.1)
    tips = suggestions(result)
    assert any("agents.defaults.keepAlive 1h" in t for t in tips)
    assert any("only 10% of a follow-up came from the prompt cache" in t for t in tips)


def test_bench_refuses_a_cloud_model(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(["bench", "openai/gpt-4o-mini"]) == 1
    assert "not a native Ollama model" in capsys.readouterr().err


def test_bench_of_a_model_not_pulled(
    emu: OllamaEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "ollama/mistral:7b"]) == 1
    assert "pull it with `openclaw models pull mistral:7b`" in capsys.readouterr().err
