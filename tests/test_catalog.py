"""The catalog: implicit discovery, explicit providers, built-in cloud models, references."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from openclaw.auth import add_profile
from openclaw.catalog.catalog import Catalog, build_catalog
from openclaw.catalog.model import ModelRef
from openclaw.config.schema import Config
from openclaw.config.sections import validate
from openclaw.errors import NotFoundError, UserError
from tests.fakes.ollama_server import FakeModel, OllamaEmulator


async def catalog_for(
    data: dict[str, Any], env: dict[str, str], state: Path, discover: bool = True
) -> Catalog:
    config = validate(Config, data)
    return await asyncio.to_thread(build_catalog, config, env, state, discover=discover)


def tools_models(emu: OllamaEmulator) -> None:
    emu.add_model(FakeModel("qwen3:8b", ("completion", "tools", "thinking"), "qwen3", 40960))
    emu.add_model(FakeModel("llama3.3:latest", ("completion", "tools"), "llama", 131072))
    emu.add_model(FakeModel("gemma2:2b", ("completion",), "gemma2", 8192))


async def test_implicit_discovery_needs_the_key(ollama: OllamaEmulator, tmp_path: Path) -> None:
    tools_models(ollama)
    host = {"OLLAMA_HOST": ollama.url}  # type: ignore[attr-defined]
    off = await catalog_for({}, host, tmp_path)
    assert "ollama" not in off.providers and "OLLAMA_API_KEY" in off.implicit_ollama
    assert ollama.requests == []  # nothing asked without the key

    on = await catalog_for({}, {**host, "OLLAMA_API_KEY": "ollama-local"}, tmp_path)
    # /api/tags lists the most recently pulled first
    assert [m.key for m in on.available()] == ["ollama/llama3.3:latest", "ollama/qwen3:8b"]
    assert on.providers["ollama"].origin == "discovered"


async def test_an_auth_profile_also_enables_discovery(
    ollama: OllamaEmulator, tmp_path: Path
) -> None:
    tools_models(ollama)
    add_profile(tmp_path, "ollama", "ollama-local")
    catalog = await catalog_for({}, {"OLLAMA_HOST": ollama.url}, tmp_path)  # type: ignore[attr-defined]
    assert len(catalog.available()) == 2


async def test_explicit_entry_turns_discovery_off(ollama: OllamaEmulator, tmp_path: Path) -> None:
    tools_models(ollama)
    config = {
        "models": {
            "providers": {
                "ollama": {
                    "baseUrl": ollama.url + "/v1/",  # type: ignore[attr-defined]
                    "timeout": 600000,
                    "idleTimeout": 90000,
                    "models": [
                        {"id": "gemma2:2b", "tools": False, "contextWindow": 8192},
                        {"id": "llama3.3", "params": {"num_ctx": 16384}},
                    ],
                }
            }
        }
    }
    catalog = await catalog_for(config, {"OLLAMA_API_KEY": "ollama-local"}, tmp_path)
    assert ollama.requests == []  # no discovery
    keys = [m.key for m in catalog.available()]
    assert keys == ["ollama/gemma2:2b", "ollama/llama3.3"]
    gemma = catalog.resolve("ollama/gemma2:2b")
    assert gemma.tools is False and gemma.base_url == ollama.url  # type: ignore[attr-defined]
    assert (gemma.timeout_ms, gemma.idle_timeout_ms) == (600000, 90000)
    assert catalog.providers["ollama"].key is not None
    assert catalog.providers["ollama"].key.source.startswith("env")  # S12: filled from env
    assert catalog.resolve("ollama/llama3.3:latest").params == {
        "num_ctx": 16384,
        "keep_alive": "30m",  # the agent's default
    }


async def test_several_ollama_hosts(ollama: OllamaEmulator, tmp_path: Path) -> None:
    tools_models(ollama)
    config = {
        "models": {
            "providers": {
                "ollama-gpu": {"api": "ollama", "baseUrl": "http://gpu-box:11434", "models": [
                    {"id": "qwen3:32b", "contextWindow": 40960}
                ]}
            }
        }
    }  # fmt: skip
    env = {"OLLAMA_API_KEY": "x", "OLLAMA_HOST": ollama.url}  # type: ignore[attr-defined]
    catalog = await catalog_for(config, env, tmp_path)
    keys = {m.key for m in catalog.available()}
    assert keys == {"ollama/qwen3:8b", "ollama/llama3.3:latest", "ollama-gpu/qwen3:32b"}
    assert catalog.resolve("ollama-gpu/qwen3:32b").api == "ollama"


async def test_cloud_providers_need_their_key(tmp_path: Path) -> None:
    catalog = await catalog_for({}, {}, tmp_path)
    assert catalog.available() == []
    opus = catalog.resolve("anthropic/claude-opus-4-20250514")
    assert opus.cost.input == 15 and opus.context_window == 200000 and not opus.local
    keyed = await catalog_for({}, {"ANTHROPIC_API_KEY": "sk-ant-xyz"}, tmp_path)
    assert {m.provider for m in keyed.available()} == {"anthropic"}


async def test_built_in_models_read_as_the_config_would_read_them(tmp_path: Path) -> None:
    """The built-in list is read without validation; a provider entry without `models` reads
    the same list through the config's model entries: both must give the same records."""
    plain = await catalog_for({}, {}, tmp_path)
    listed = {"anthropic": {}, "openai": {}}
    validated = await catalog_for({"models": {"providers": listed}}, {}, tmp_path)
    assert [p.origin for p in validated.providers.values()] == ["explicit", "explicit"]
    assert len(plain.models) == len(validated.models) == 13
    for a, b in zip(plain.models, validated.models, strict=True):
        assert repr(a) == repr(b)  # every field, params and headers included, floats as floats


async def test_mixed_strategy_seed(ollama: OllamaEmulator, tmp_path: Path) -> None:
    config = {
        "models": {"providers": {
            "anthropic": {"apiKey": "sk-ant-from-env"},
            "ollama": {"apiKey": "ollama-local", "baseUrl": ollama.url,  # type: ignore[attr-defined]
                       "models": [{"id": "llama3.3"}]},
        }},
        "agents": {"defaults": {"model": {
            "primary": "anthropic/claude-opus-4-20250514", "fallbacks": ["ollama/llama3.3"]
        }}},
    }  # fmt: skip
    selection = (await catalog_for(config, {}, tmp_path)).selection()
    assert selection.primary is not None
    assert selection.primary.key == "anthropic/claude-opus-4-20250514"
    assert [m.key for m in selection.fallbacks] == ["ollama/llama3.3"]
    assert selection.problems == ()


async def test_refs_and_suggestions(ollama: OllamaEmulator, tmp_path: Path) -> None:
    tools_models(ollama)
    ollama.add_model(FakeModel("hf.co/org/repo:Q4_K_M"))
    env = {"OLLAMA_API_KEY": "x", "OLLAMA_HOST": ollama.url}  # type: ignore[attr-defined]
    catalog = await catalog_for({}, env, tmp_path)
    assert catalog.resolve("ollama/llama3.3").id == "llama3.3:latest"
    assert catalog.resolve("ollama/LLAMA3.3:latest").id == "llama3.3:latest"
    assert catalog.resolve("ollama/hf.co/org/repo:Q4_K_M").id == "hf.co/org/repo:Q4_K_M"
    with pytest.raises(NotFoundError, match="Closest known: ollama/qwen3:8b"):
        catalog.resolve("ollama/qwen3:4b")
    assert ModelRef.parse("ollama/hf.co/org/repo:Q4_K_M") == ModelRef(
        "ollama", "hf.co/org/repo:Q4_K_M"
    )
    with pytest.raises(UserError, match="provider/model"):
        ModelRef.parse("llama3.3")


async def test_default_is_first_local_model(ollama: OllamaEmulator, tmp_path: Path) -> None:
    tools_models(ollama)
    env = {"OLLAMA_API_KEY": "x", "OLLAMA_HOST": ollama.url}  # type: ignore[attr-defined]
    selection = (await catalog_for({}, env, tmp_path)).selection()
    assert selection.primary is not None and selection.primary.key == "ollama/llama3.3:latest"
    assert "no primary model configured" in selection.notes[0]


async def test_unknown_primary_is_a_problem(tmp_path: Path) -> None:
    config = {"agents": {"defaults": {"model": {"primary": "ollama/nope"}}}}
    selection = (await catalog_for(config, {}, tmp_path)).selection()
    assert selection.primary is None and "ollama/nope" in selection.problems[0]
