#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what the tests need, check the contract,
# type check, run every vitest suite, and check the Dockerfile's steps. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/go/bin:$PWD/.tools/bin:$PATH"

# `npm install`, not `npm ci`: the registry mirror our machines use serves no other-platform optional
# packages (buf, esbuild, rollup binaries for macOS/Windows), so the lockfile cannot list them and
# `npm ci` refuses it as out of sync. `npm install` installs exactly the locked versions all the same.
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm install --no-audit --no-fund
bash scripts/provision-core.sh
bash scripts/provision-ferretdb.sh
bash scripts/provision-coturn.sh
bash scripts/provision-clients.sh
bash scripts/provision-chromium.sh

bash scripts/check-generated.sh
npx tsc -p tsconfig.json --noEmit
npx vitest run
# The benchmark harness in quick mode, only to prove it works: no timing is checked, and the
# committed report (docs/benchmarks.md) is not overwritten.
npm run bench -- --quick --out "$(mktemp -d)"
bash scripts/check-docker-steps.sh
