#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what the tests need, check the contract,
# type check, run every vitest suite, and check the Dockerfile's steps. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/go/bin:$PWD/.tools/bin:$PATH"

# Node 24 first (from the npm registry into .tools/ when the machine's Node is older): everything
# below, the tests and the benchmark included, runs on it.
bash scripts/provision-node.sh
# The lockfile lists every platform's packages, so `npm ci` installs exactly it; the check after it
# fails the run when the lockfile is out of date with package.json.
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
npm install --no-audit --no-fund --package-lock-only --silent
git diff --exit-code -- package-lock.json || { echo "package-lock.json is out of date: run npm install and commit it" >&2; exit 1; }
bash scripts/provision-core.sh
bash scripts/provision-ferretdb.sh
bash scripts/provision-coturn.sh
bash scripts/provision-clients.sh
bash scripts/provision-chromium.sh
bash scripts/provision-conformance.sh
bash scripts/provision-h2load.sh

bash scripts/check-generated.sh
npx tsc -p tsconfig.json --noEmit
npx vitest run
# The benchmark harness in quick mode, only to prove it works: no timing is checked, and the
# committed report (docs/benchmarks.md) is not overwritten.
npm run bench -- --quick --out "$(mktemp -d)"
bash scripts/check-docker-steps.sh
