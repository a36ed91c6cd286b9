#!/usr/bin/env bash
# Installs coturn (turnserver, turnutils_uclient) from Debian for the TURN
# credential test. Idempotent: returns at once when both tools are present.
set -euo pipefail

if command -v turnserver >/dev/null 2>&1 && command -v turnutils_uclient >/dev/null 2>&1; then
  echo "coturn: already installed ($(command -v turnserver))"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Other installs may hold the dpkg lock for a while; wait for it instead of failing.
APT_OPTS=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${APT_OPTS[@]}" update -qq
$SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends coturn >/dev/null
# The Debian package enables a system service; the test starts its own server on loopback.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet coturn 2>/dev/null; then
  $SUDO systemctl stop coturn || true
fi
command -v turnserver >/dev/null && command -v turnutils_uclient >/dev/null
echo "coturn: installed ($(turnserver --version 2>/dev/null | head -n1 || true))"
