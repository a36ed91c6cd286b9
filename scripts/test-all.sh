#!/usr/bin/env bash
# The whole test suite on a fresh machine: install what the tests need, check the contract,
# type check, run every vitest suite, and check the Dockerfile's steps. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/go/bin:$PWD/.tools/bin:$PATH"

[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
bash scripts/provision-core.sh

bash scripts/check-generated.sh
npx tsc -p tsconfig.json --noEmit
npx vitest run
bash scripts/check-docker-steps.sh
