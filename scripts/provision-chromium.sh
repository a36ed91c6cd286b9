#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium for the browser end-to-end test.
# Idempotent: returns at once when /usr/bin/chromium is already there.
# playwright-core drives it; Playwright's own browser download is never used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision-chromium: no apt-get here; install Chromium yourself (see README, 'Browser SDK and demo')" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# Refresh the package lists only when apt does not know the package yet.
if ! apt-cache show chromium >/dev/null 2>&1 || [ -z "$(apt-cache policy chromium | awk '/Candidate:/ {print $2}' | grep -v none)" ]; then
  $sudo apt-get update
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
/usr/bin/chromium --version
