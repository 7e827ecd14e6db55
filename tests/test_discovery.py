"""Ollama discovery against the emulator: the rules, the cache, and failure modes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from openclaw.catalog.ollama_discovery import ShowCache, discover_ollama_models, parse_show
from tests.fakes.ollama_server import FakeModel, OllamaEmulator
from tests.fakes.serve import serve_in_thread


async def discover(emu: OllamaEmulator, cache: ShowCache | None = None):  # type: ignore[no-untyped-def]
    url = emu.url  # type: ignore[attr-defined]
    return await asyncio.to_thread(discover_ollama_models, url, cache=cache)


def by_id(result):  # type: ignore[no-untyped-def]
    return {m.id: m for m in result.models}


async def test_rules_from_the_provider_page(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    ollama.add_model(FakeModel("llava:7b", ("completion", "vision"), "llama", 4096))
    ollama.add_model(FakeModel("gemma3:4b", ("completion", "tools", "vision"), "gemma3", 131072))
    ollama.add_model(
        FakeModel("tiny:1b", ("completion", "tools"), "phi", None, parameters="num_ctx 2048")
    )
    result = await discover(ollama)
    models = by_id(result)
    assert set(models) == {"qwen3:8b", "gemma3:4b", "tiny:1b"}
    qwen = models["qwen3:8b"]
    assert (qwen.reasoning, qwen.context_window, qwen.max_tokens) == (True, 40960, 409600)
    assert qwen.input == ("text",) and qwen.local and qwen.api == "ollama"
    assert qwen.cost.input == qwen.cost.output == qwen.cost.cache_read == qwen.cost.cache_write == 0
    assert qwen.key == "ollama/qwen3:8b" and qwen.digest and qwen.family == "qwen3"
    assert models["gemma3:4b"].input == ("text", "image")
    assert models["gemma3:4b"].reasoning is False
    tiny = models["tiny:1b"]
    assert (tiny.context_window, tiny.max_tokens, tiny.modelfile_num_ctx) == (8192, 81920, 2048)
    assert [(s.name, "tools" in s.reason) for s in result.skipped] == [("llava:7b", True)]
    assert result.installed == 4 and result.capabilities_reported


async def test_show_request_is_exact(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("llama3.3:latest"))
    await discover(ollama)
    assert ollama.bodies("/api/show") == [{"model": "llama3.3:latest", "name": "llama3.3:latest"}]
    assert sorted((r.method, r.path) for r in ollama.requests) == [
        ("GET", "/api/tags"),
        ("GET", "/api/version"),
        ("POST", "/api/show"),
    ]


def test_context_length_falls_back_to_any_key() -> None:
    body = {
        "model_info": {"general.architecture": "odd", "other.context_length": 65536},
        "capabilities": ["tools"],
        "parameters": 'stop               "<|eot|>"\nnum_ctx            16384',
    }
    info = parse_show(body)
    assert (info.context_length, info.num_ctx, info.capabilities) == (65536, 16384, ("tools",))
    assert parse_show({"capabilities": ["tools"]}).context_length is None


async def test_cache_second_run_sends_only_tags(ollama: OllamaEmulator, tmp_path: Path) -> None:
    for name in ("a:1b", "b:2b", "c:3b"):
        ollama.add_model(FakeModel(name))
    cache = ShowCache(tmp_path / "show.json")
    first = await discover(ollama, cache)
    assert first.shows_sent == 3
    ollama.clear_requests()
    second = await discover(ollama, ShowCache(tmp_path / "show.json"))
    assert sorted(r.path for r in ollama.requests) == ["/api/tags", "/api/version"]
    assert by_id(second).keys() == by_id(first).keys()

    ollama.repull("b:2b")  # new digest: asked again, the others still cached
    ollama.add_model(FakeModel("mistral:latest"))  # pulled later: appears with no config change
    ollama.clear_requests()
    third = await discover(ollama, ShowCache(tmp_path / "show.json"))
    shown = sorted(b["model"] for b in ollama.bodies("/api/show"))
    assert shown == ["b:2b", "mistral:latest"]
    assert "mistral:latest" in by_id(third)


async def test_corrupt_cache_is_ignored(ollama: OllamaEmulator, tmp_path: Path) -> None:
    ollama.add_model(FakeModel("a:1b"))
    (tmp_path / "show.json").write_text("{not json")
    result = await discover(ollama, ShowCache(tmp_path / "show.json"))
    assert "a:1b" in by_id(result)


async def test_old_server_without_capabilities_keeps_nothing() -> None:
    emu = OllamaEmulator(version="0.6.2")
    emu.add_model(FakeModel("llama3:latest", capabilities=None))
    with serve_in_thread(emu.app) as url:
        emu.url = url  # type: ignore[attr-defined]
        result = await discover(emu)
    assert result.models == () and not result.capabilities_reported
    assert result.version == "0.6.2" and "too old" in result.skipped[0].reason


async def test_a_model_without_capabilities_is_judged_on_its_own(
    ollama: OllamaEmulator, tmp_path: Path
) -> None:
    ollama.version = "0.12.10"
    for name in ("qwen3:8b", "llama3.1:8b", "mistral:7b"):
        ollama.add_model(FakeModel(name, ("completion", "tools")))
    ollama.add_model(FakeModel("old-pull:latest", capabilities=None))
    cache = ShowCache(tmp_path / "show.json")
    result = await discover(ollama, cache)
    assert sorted(by_id(result)) == ["llama3.1:8b", "mistral:7b", "qwen3:8b"]
    assert result.capabilities_reported  # the server is not too old: 0.12.10
    (skipped,) = result.skipped
    assert skipped.name == "old-pull:latest"
    assert "reports no capabilities" in skipped.reason and "ollama pull old-pull" in skipped.reason
    # the capability-less answer is not cached: after a re-pull it is asked again
    ollama.models["old-pull:latest"].capabilities = ("completion", "tools")
    ollama.clear_requests()
    again = await discover(ollama, ShowCache(tmp_path / "show.json"))
    assert [b["model"] for b in ollama.bodies("/api/show")] == ["old-pull:latest"]
    assert "old-pull:latest" in by_id(again)


async def test_show_cache_is_keyed_by_server_version(
    ollama: OllamaEmulator, tmp_path: Path
) -> None:
    ollama.add_model(FakeModel("qwen3:8b"))
    await discover(ollama, ShowCache(tmp_path / "show.json"))
    ollama.version = "0.33.0"  # upgraded: its answers may differ
    ollama.clear_requests()
    await discover(ollama, ShowCache(tmp_path / "show.json"))
    assert [b["model"] for b in ollama.bodies("/api/show")] == ["qwen3:8b"]


async def test_cloud_stubs_are_not_local(ollama: OllamaEmulator) -> None:
    ollama.add_model(FakeModel("qwen3:8b"))
    ollama.add_model(FakeModel("gpt-oss:120b-cloud", remote_host="https://ollama.com:443"))
    ollama.add_model(FakeModel("deepseek-v3.1:671b", remote_host="https://ollama.com:443"))
    ollama.add_model(FakeModel("kimi-k2:cloud"))
    models = by_id(await discover(ollama))
    assert models["qwen3:8b"].local
    assert not any(models[n].local for n in ("gpt-oss:120b-cloud", "deepseek-v3.1:671b",
                                             "kimi-k2:cloud"))  # fmt: skip


@pytest.mark.parametrize(
    "name", ["hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "user/model:tag", "Qwen3:8B"]
)
async def test_odd_names_keep_their_form(ollama: OllamaEmulator, name: str) -> None:
    ollama.add_model(FakeModel(name))
    result = await discover(ollama)
    assert [m.id for m in result.models] == [name]
    assert result.models[0].key == f"ollama/{name}"


async def test_unreachable_server_is_reported_not_raised(closed_url: str) -> None:
    result = await asyncio.to_thread(discover_ollama_models, closed_url)
    assert not result.reachable and result.error_kind == "connection"
    assert closed_url in result.error and "ollama serve" in result.error
