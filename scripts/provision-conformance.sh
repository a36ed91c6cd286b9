#!/usr/bin/env bash
# Installs the Connect conformance runner for test/conformance.test.ts:
#   connectconformance -> $(go env GOPATH)/bin, by `go install` from the Go module proxy
# Its protos land in the module cache ($(go env GOMODCACHE)/connectrpc.com/conformance@<version>/proto),
# which scripts/generate-conformance.sh reads. Idempotent: a runner already at the pinned version is left alone.
set -euo pipefail

CONFORMANCE_VERSION=v1.0.7

if ! command -v go >/dev/null; then
  echo "provision-conformance: Go is not installed; install Go 1.23 or newer" >&2
  exit 1
fi
gobin="$(go env GOBIN)"
gobin="${gobin:-$(go env GOPATH)/bin}"
if [[ -x "$gobin/connectconformance" ]] &&
  go version -m "$gobin/connectconformance" | grep -qP "^\tmod\tconnectrpc.com/conformance\t\Q$CONFORMANCE_VERSION\E\t"; then
  exit 0
fi
echo "provision-conformance: go install connectrpc.com/conformance/cmd/connectconformance@$CONFORMANCE_VERSION"
go install "connectrpc.com/conformance/cmd/connectconformance@$CONFORMANCE_VERSION"
