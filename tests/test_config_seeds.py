"""Every example config in the two seed documents, exactly as printed.

Thirteen load. Two are not JSON5 as printed (`maxTokens: 8192 * 10`, `models: [...]`): they must
fail with the line and a plain explanation of what to write instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openclaw.config import load_config
from openclaw.errors import ConfigError

# --- provider page (Traditional Chinese) -------------------------------------------------------

ZH_TW_USE_MODEL = """\
{
  agents: {
    defaults: {
      model: { primary: "ollama/gpt-oss:20b" },
    },
  },
}
"""

ZH_TW_EXPLICIT_ARITHMETIC = """\
{
  models: {
    providers: {
      ollama: {
        baseUrl: "http://ollama-host:11434",
        apiKey: "ollama-local",
        api: "ollama",
        models: [
          {
            id: "gpt-oss:20b",
            name: "GPT-OSS 20B",
            reasoning: false,
            input: ["text"],
            cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
            contextWindow: 8192,
            maxTokens: 8192 * 10
          }
        ]
      }
    }
  }
}
"""

ZH_TW_CUSTOM_BASE_URL = """\
{
  models: {
    providers: {
      ollama: {
        apiKey: "ollama-local",
        baseUrl: "http://ollama-host:11434",
      },
    },
  },
}
"""

ZH_TW_MODEL_SELECTION = """\
{
  agents: {
    defaults: {
      model: {
        primary: "ollama/gpt-oss:20b",
        fallbacks: ["ollama/llama3.3", "ollama/qwen2.5-coder:32b"],
      },
    },
  },
}
"""

ZH_TW_LEGACY_PLACEHOLDER = """\
{
  models: {
    providers: {
      ollama: {
        baseUrl: "http://ollama-host:11434/v1",
        api: "openai-completions",
        apiKey: "ollama-local",
        models: [...]
      }
    }
  }
}
"""

# --- deployment guide (Simplified Chinese) -----------------------------------------------------

ZH_CN_PRIMARY = """\
{
  "agents": {
    "defaults": {
      "model": {
        "primary": "ollama/llama3.3"
      }
    }
  }
}
"""

ZH_CN_DISCOVERED = """\
{
  "models": {
    "providers": {
      "ollama": {
        "apiKey": "ollama-local",
        "models": [
          {
            "id": "llama3.3",
            "name": "Llama 3.3",
            "reasoning": false,
            "input": ["text"],
            "cost": { "input": 0, "output": 0 },
            "contextWindow": 131072,
            "maxTokens": 1310720
          }
        ]
      }
    }
  }
}
"""

ZH_CN_EXPLICIT = """\
{
  "models": {
    "providers": {
      "ollama": {
        "baseUrl": "http://ollama-host:11434/v1",
        "apiKey": "ollama-local",
        "api": "openai-completions",
        "models": [
          {
            "id": "llama3.3",
            "name": "Llama 3.3",
            "reasoning": false,
            "input": ["text"],
            "cost": { "input": 0, "output": 0 },
            "contextWindow": 8192,
            "maxTokens": 81920
          }
        ]
      }
    }
  }
}
"""

ZH_CN_REMOTE = """\
{
  "models": {
    "providers": {
      "ollama": {
        "apiKey": "ollama-local",
        "baseUrl": "http://192.168.1.100:11434/v1"
      }
    }
  }
}
"""

ZH_CN_FALLBACK_SINGULAR = """\
{
  "agents": {
    "defaults": {
      "model": {
        "primary": "ollama/llama3.3",
        "fallback": [
          "ollama/qwen2.5-coder:32b",
          "ollama/deepseek-r1:32b"
        ]
      }
    }
  }
}
"""

ZH_CN_TOOLS_FALSE = """\
{
  "models": {
    "providers": {
      "ollama": {
        "apiKey": "ollama-local",
        "models": [
          {
            "id": "llama3.3",
            "tools": false,
            "reasoning": false
          }
        ]
      }
    }
  }
}
"""

ZH_CN_REASONING = """\
{
  "agents": {
    "defaults": {
      "model": {
        "primary": "ollama/deepseek-r1:32b"
      }
    }
  }
}
"""

ZH_CN_BATCH = """\
{
  "models": {
    "providers": {
      "ollama": {
        "apiKey": "ollama-local",
        "batchSize": 32,  // 批量大小
        "timeout": 120000  // 超时时间（毫秒）
      }
    }
  }
}
"""

ZH_CN_CONTEXT_WINDOW = """\
{
  "models": {
    "providers": {
      "ollama": {
        "apiKey": "ollama-local",
        "models": [
          {
            "id": "llama3.3",
            "contextWindow": 131072,
            "maxTokens": 1310720
          }
        ]
      }
    }
  }
}
"""

ZH_CN_MIXED = """\
{
  "models": {
    "providers": {
      "anthropic": {
        "apiKey": "${ANTHROPIC_API_KEY}"
      },
      "ollama": {
        "apiKey": "ollama-local"
      }
    }
  },
  "agents": {
    "defaults": {
      "model": {
        "primary": "anthropic/claude-opus-4-20250514",
        "fallbacks": [
          "ollama/llama3.3"
        ]
      }
    }
  }
}
"""

LOADING = {
    "zh-tw use model": ZH_TW_USE_MODEL,
    "zh-tw custom base url": ZH_TW_CUSTOM_BASE_URL,
    "zh-tw model selection": ZH_TW_MODEL_SELECTION,
    "zh-cn primary": ZH_CN_PRIMARY,
    "zh-cn discovered result": ZH_CN_DISCOVERED,
    "zh-cn explicit": ZH_CN_EXPLICIT,
    "zh-cn remote": ZH_CN_REMOTE,
    "zh-cn fallback singular": ZH_CN_FALLBACK_SINGULAR,
    "zh-cn tools false": ZH_CN_TOOLS_FALSE,
    "zh-cn reasoning": ZH_CN_REASONING,
    "zh-cn batch": ZH_CN_BATCH,
    "zh-cn context window": ZH_CN_CONTEXT_WINDOW,
    "zh-cn mixed": ZH_CN_MIXED,
}

ENV = {"ANTHROPIC_API_KEY": "sk-ant-test-0123456789"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "openclaw.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", LOADING.values(), ids=LOADING.keys())
def test_seed_example_loads(tmp_path: Path, text: str) -> None:
    loaded = load_config(write(tmp_path, text), env=ENV)
    assert loaded.exists
    assert loaded.path == tmp_path / "openclaw.json"


def test_explicit_example_has_every_field(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ZH_CN_EXPLICIT), env={}).config
    provider = config.providers["ollama"]
    assert provider.baseUrl == "http://ollama-host:11434/v1"
    assert provider.api == "openai-completions"
    assert provider.models is not None
    model = provider.models[0]
    assert (model.id, model.name, model.reasoning) == ("llama3.3", "Llama 3.3", False)
    assert model.input == ["text"]
    assert model.cost is not None and model.cost.cacheRead == 0
    assert (model.contextWindow, model.maxTokens) == (8192, 81920)


def test_batch_example_keeps_numbers(tmp_path: Path) -> None:
    provider = load_config(write(tmp_path, ZH_CN_BATCH), env={}).config.providers["ollama"]
    assert (provider.batchSize, provider.timeout) == (32, 120000)


def test_tools_false_example(tmp_path: Path) -> None:
    provider = load_config(write(tmp_path, ZH_CN_TOOLS_FALSE), env={}).config.providers["ollama"]
    assert provider.models is not None and provider.models[0].tools is False


def test_mixed_example_substitutes_the_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ZH_CN_MIXED), env=ENV).config
    assert config.providers["anthropic"].apiKey == "sk-ant-test-0123456789"
    model = config.agent_defaults.model
    assert model is not None and model.fallbacks == ["ollama/llama3.3"]


def test_singular_fallback_is_read_as_fallbacks_with_a_warning(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, ZH_CN_FALLBACK_SINGULAR), env={})
    model = loaded.config.agent_defaults.model
    assert model is not None
    assert model.fallbacks == ["ollama/qwen2.5-coder:32b", "ollama/deepseek-r1:32b"]
    assert loaded.warnings == (
        "openclaw.json:6 agents.defaults.model.fallback: `fallback` is the old name of "
        "`fallbacks`; it is read as `fallbacks` (rename it)",
    )


def test_arithmetic_example_names_the_line_and_the_result(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, ZH_TW_EXPLICIT_ARITHMETIC), env={})
    assert caught.value.problems == [
        "openclaw.json:16: `8192 * 10` is arithmetic, which JSON5 does not allow: "
        "write the result, 81920"
    ]
    assert "is not valid JSON5" in str(caught.value)


def test_placeholder_example_names_the_line_and_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, ZH_TW_LEGACY_PLACEHOLDER), env={})
    assert caught.value.problems == [
        "openclaw.json:8: `[...]` is a placeholder from an example, not a value: "
        'list the models, e.g. models: [{ id: "llama3.3" }]'
    ]
