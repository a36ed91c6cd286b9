#!/usr/bin/env bash
# Installs Debian's Chromium for the browser end-to-end test (test/browser-e2e.test.ts).
# Idempotent: returns at once when /usr/bin/chromium is already there.
# playwright-core drives it; Playwright's own browser download is never used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision-chromium: no apt-get here; install Chromium and set CHROMIUM_PATH (README: 'The browser test and Chromium')" >&2
  exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
install() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium; }

# Refresh the package lists only when apt does not know chromium, or when they are too old to install it.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $sudo apt-get update -qq
fi
if ! install; then
  $sudo apt-get update -qq
  install
fi
echo "provision-chromium: $(/usr/bin/chromium --version 2>/dev/null)"
