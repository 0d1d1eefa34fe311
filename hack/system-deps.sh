#!/usr/bin/env bash
# Debian packages the test suite and the local path need; installs only what is missing.
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)   # promtool parses every PromQL expression we ship
# The local path's Alertmanager (0.25 on Debian 12) and amtool, which checks the Alertmanager config we render
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v cmake >/dev/null || need+=(cmake)           # llama-server is compiled from source
command -v g++ >/dev/null || need+=(g++)
command -v git >/dev/null || need+=(git)
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (install them, e.g. sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "installing system packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
