#!/usr/bin/env bash
# Installs what the client tests need (test/grpcurl.test.ts, test/interop.test.ts):
#   grpcurl, protoc-gen-go and protoc-gen-go-grpc  -> $(go env GOPATH)/bin, by `go install` from the Go module proxy
#   jq                                             -> from Debian, for the README's grpcurl walk-through
#   grpcio and grpcio-tools (its protoc included)   -> a virtualenv in .tools/venv, from PyPI
# buf (an npm devDependency) is the protoc for the Go stubs. Idempotent: a tool
# already at its pinned version is left alone, so a second run takes a second or two.
set -euo pipefail

GRPCURL_VERSION=v1.9.3
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
GRPCIO_VERSION=1.85.1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v go >/dev/null; then
  echo "provision-clients: Go is not installed; install Go 1.23 or newer (see README, 'Clients from the shell and other backends')" >&2
  exit 1
fi
gobin="$(go env GOBIN)"
gobin="${gobin:-$(go env GOPATH)/bin}"

# go_tool NAME MODULE_PATH PACKAGE VERSION: installs PACKAGE@VERSION unless NAME is already built from it.
go_tool() {
  local name="$1" module="$2" package="$3" version="$4"
  if [[ -x "$gobin/$name" ]] && go version -m "$gobin/$name" | grep -qP "^\tmod\t\Q$module\E\t\Q$version\E\t"; then
    return
  fi
  echo "provision-clients: go install $package@$version"
  go install "$package@$version"
}
go_tool grpcurl github.com/fullstorydev/grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
go_tool protoc-gen-go google.golang.org/protobuf google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc \
  google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"

# The Go client's modules, downloaded and compiled (about 100 s cold, then cached), so its test
# only compiles the stubs it generates.
(cd "$root/test/interop/go" && go mod download && go build google.golang.org/grpc google.golang.org/grpc/codes \
  google.golang.org/grpc/status google.golang.org/grpc/credentials/insecure google.golang.org/protobuf/types/known/durationpb \
  google.golang.org/protobuf/types/known/timestamppb google.golang.org/protobuf/reflect/protoreflect \
  google.golang.org/protobuf/runtime/protoimpl)

if ! command -v jq >/dev/null; then
  echo "provision-clients: apt-get install jq"
  apt-get update -qq && apt-get install -y -qq jq >/dev/null
fi

venv="$root/.tools/venv"
if ! "$venv/bin/python" -c "import grpc, grpc_tools, sys; sys.exit(grpc.__version__ != '$GRPCIO_VERSION')" 2>/dev/null; then
  echo "provision-clients: grpcio $GRPCIO_VERSION and grpcio-tools into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "grpcio==$GRPCIO_VERSION" "grpcio-tools==$GRPCIO_VERSION"
fi

echo "provision-clients: ready (grpcurl, protoc-gen-go, protoc-gen-go-grpc in $gobin; python in $venv)"
