#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what the tests need, check the contract,
# type check, run every vitest suite, and check the Dockerfile's steps. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/go/bin:$PWD/.tools/bin:$PATH"

# Node 24 first (from the npm registry into .tools/ when the machine's Node is older): everything
# below, the tests and the benchmark included, runs on it.
bash scripts/provision-node.sh
# The lockfile lists every platform's packages, so `npm ci` installs exactly it (and fails when it does
# not match package.json). Then `npm install` must leave the tree as it was: if it rewrites the lockfile
# or package.json, the committed lockfile is out of date.
tree_state() { git status --porcelain=v1 --untracked-files=all; git diff; }
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
before=$(tree_state | sha256sum)
npm install --no-audit --no-fund --silent
if [ "$(tree_state | sha256sum)" != "$before" ]; then
  git status --short >&2
  git diff -- package.json package-lock.json | head -40 >&2
  echo "npm install changed the tree (above): run npm install and commit package.json and package-lock.json" >&2
  exit 1
fi
# FerretDB's build from source (3½ minutes once per machine, CPU-bound) runs beside the other installs
# (apt and downloads, mostly waiting on the network), not before them.
ferretdb_log=$(mktemp)
bash scripts/provision-ferretdb.sh >"$ferretdb_log" 2>&1 &
ferretdb_pid=$!
bash scripts/provision-core.sh
bash scripts/provision-coturn.sh
bash scripts/provision-clients.sh
bash scripts/provision-chromium.sh
if ! wait "$ferretdb_pid"; then
  cat "$ferretdb_log" >&2
  echo "provision-ferretdb.sh failed (above)" >&2
  exit 1
fi
cat "$ferretdb_log"
rm -f "$ferretdb_log"

bash scripts/check-generated.sh
npx tsc -p tsconfig.json --noEmit
npx vitest run
# The benchmark harness in quick mode, only to prove it works: no timing is checked, and the
# committed report (docs/benchmarks.md) is not overwritten.
npm run bench -- --quick --out "$(mktemp -d)"
bash scripts/check-docker-steps.sh
