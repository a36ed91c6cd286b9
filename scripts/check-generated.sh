#!/usr/bin/env bash
# Fails when buf lint fails or gen/ differs from a fresh `buf generate` of proto/.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf lint
npm run --silent generate
if ! git diff --exit-code --stat -- gen || [ -n "$(git status --porcelain -- gen)" ]; then
  echo "gen/ is out of date: run 'npm run generate' and commit the result" >&2
  git status --porcelain -- gen >&2
  exit 1
fi
if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then
  npx buf breaking --against '.git#ref=HEAD~1'
fi
echo "proto: lint clean, gen/ up to date"
