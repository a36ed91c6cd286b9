#!/usr/bin/env bash
# Generates TypeScript for connectrpc.conformance.v1 (the Connect conformance suite's protos, from the Go
# module cache after scripts/provision-conformance.sh) into test/conformance/gen/: test-only, committed.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFORMANCE_VERSION=v1.0.7
protos="$(go env GOMODCACHE)/connectrpc.com/conformance@$CONFORMANCE_VERSION/proto"
[[ -d "$protos" ]] || { echo "generate-conformance: $protos is missing; run scripts/provision-conformance.sh" >&2; exit 1; }
npx buf generate "$protos" --template test/conformance/buf.gen.yaml
