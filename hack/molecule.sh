#!/usr/bin/env bash
# Molecule scenarios of the test suite: the local end-to-end path, and the OKE path offline (OCI API
# emulator + render mode). The real-cluster scenario runs only when LLMOPS_KUBECONFIG is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_COLLECTIONS_PATH="$PWD/build/collections"

molecule test --scenario-name default

# The OCI API emulator (a test fixture) for the OKE scenario, on 127.0.0.1 with a throwaway key.
work="$(mktemp -d)"
PYTHONPATH="$PWD/tests/fixtures" python -m oci_emulator "$work" >"$work/emulator.json" 2>"$work/emulator.log" &
emulator_pid=$!
# The chart repository the observe stage renders from: ../shared/charts served on 127.0.0.1, pulled through
# Helm exactly as an internal mirror would be (tests/chart_mirror.py; LLMOPS_CHART_MIRROR names another folder).
PYTHONPATH="$PWD/tests" python -c 'import sys, time, chart_mirror
url, _server = chart_mirror.serve()
open(sys.argv[1], "w").write(url)
time.sleep(86400)' "$work/charts.url" 2>"$work/charts.log" &
charts_pid=$!
trap 'kill "$emulator_pid" "$charts_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do [ -s "$work/emulator.json" ] && break; sleep 0.1; done
[ -s "$work/emulator.json" ] || { cat "$work/emulator.log" >&2; echo "the OCI emulator did not start" >&2; exit 1; }
OCI_API_ENDPOINT="$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$work/emulator.json")"
OCI_CONFIG_FILE="$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["config_file"])' "$work/emulator.json")"
export OCI_API_ENDPOINT OCI_CONFIG_FILE OCI_CONFIG_PROFILE=DEFAULT
for _ in $(seq 1 100); do [ -s "$work/charts.url" ] && break; sleep 0.1; done
[ -s "$work/charts.url" ] || { cat "$work/charts.log" >&2; echo "the chart mirror did not start" >&2; exit 1; }
LLMOPS_CHART_REPO_URL="$(cat "$work/charts.url")"
export LLMOPS_CHART_REPO_URL
molecule test --scenario-name oke_offline

if [ -n "${LLMOPS_KUBECONFIG:-}" ]; then
  molecule test --scenario-name real_cluster
else
  echo "molecule real_cluster: skipped (set LLMOPS_KUBECONFIG to the kubeconfig of a cluster with an A1 and an A10 pool to run it)"
fi
