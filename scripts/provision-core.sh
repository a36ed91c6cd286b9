#!/usr/bin/env bash
# Tools the core tests need beyond Node: curl and jq (the README walk-through). Idempotent.
set -euo pipefail
missing=()
for tool in curl jq; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
