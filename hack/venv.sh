#!/usr/bin/env bash
# Create (or reuse) the project virtualenv, keyed by the requirement files and the Python version,
# in a cache outside the clone; link it as .venv. Prints the venv path.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${LLMOPS_CACHE:-$HOME/.cache/llmops-oke}"
python="${PYTHON:-python3}"
key="$( (cat "$root/requirements.txt" "$root/requirements-dev.txt"; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)"
venv="$cache/venv-$key"
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/.complete" ]; then
  echo "creating virtualenv $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  log="$cache/venv-$key.log"
  if ! { "$venv/bin/python" -m pip install --upgrade pip && "$venv/bin/python" -m pip install -r "$root/requirements-dev.txt"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "pip install failed; full log: $log" >&2
    exit 1
  fi
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$root/.venv"
echo "$venv"
