#!/usr/bin/env bash
# Create benchmarks/.work/venv: the project (editable, with its test extras) plus the peers
# listed in requirements.txt. Usage: benchmarks/setup.sh  (PYTHON=python3.12 to pick another)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.work/venv"
python="${PYTHON:-python3}"

mkdir -p "$here/.work"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
(cd "$root" && "$venv/bin/python" -m pip install --quiet -e ".[test]")
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$venv/bin/python" -m pip freeze --exclude-editable > "$here/.work/freeze.txt"
echo "ready: . $venv/bin/activate"
