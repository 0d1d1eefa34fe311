#!/usr/bin/env bash
# Molecule scenarios of the test suite: the local end-to-end path and the OKE path offline
# (OCI emulator + render mode). The real-cluster scenario runs only when LLMOPS_KUBECONFIG is set.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_COLLECTIONS_PATH="$PWD/build/collections"
molecule test --scenario-name default
molecule test --scenario-name oke_offline
if [ -n "${LLMOPS_KUBECONFIG:-}" ]; then
  molecule test --scenario-name real_cluster
else
  echo "molecule real_cluster: skipped (set LLMOPS_KUBECONFIG to a kubeconfig of a cluster with an A1 and an A10 pool to run it)"
fi
