#!/usr/bin/env bash
# Installs h2load (Debian's nghttp2-client), the C load generator of the benchmark's per-call rows
# (bench/scenarios/per-call.ts). Idempotent: nothing is done when h2load is already on PATH.
set -euo pipefail
if command -v h2load >/dev/null; then exit 0; fi
echo "provision-h2load: apt-get install nghttp2-client"
sudo_=""
if [[ "$(id -u)" != 0 ]]; then sudo_="sudo"; fi
$sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq nghttp2-client >/dev/null
