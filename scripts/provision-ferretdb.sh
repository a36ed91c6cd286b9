#!/usr/bin/env bash
# Installs FerretDB (a MongoDB wire-protocol server on SQLite) into .tools/bin
# for the Mongo store tests. Idempotent: returns at once when the pinned
# version is already there.
#
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.x` does not work
# behind the Go module proxy used here (its @v/list answers 403), and a
# binary built from the module cache panics at start because the module zip
# lacks the generated build/version/version.txt. So this script downloads
# the pinned module version, copies its source, writes version.txt and
# builds from that copy.
set -euo pipefail

FERRETDB_VERSION="${FERRETDB_VERSION:-v1.24.0}"
source "$(dirname "${BASH_SOURCE[0]}")/tools-dir.sh"
bin="$tools/bin/ferretdb"
stamp="$tools/bin/ferretdb.version"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$FERRETDB_VERSION" ]]; then
  echo "ferretdb $FERRETDB_VERSION already installed at $bin"
  exit 0
fi

command -v go >/dev/null || { echo "provision-ferretdb: Go is required (https://go.dev/dl/)" >&2; exit 1; }

module="github.com/FerretDB/FerretDB"
echo "downloading $module@$FERRETDB_VERSION from the Go module proxy"
dir="$(go mod download -json "$module@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -n "$dir" && -d "$dir" ]] || { echo "provision-ferretdb: go mod download gave no source directory" >&2; exit 1; }

src="$tools/src/ferretdb-$FERRETDB_VERSION"
rm -rf "$src"
mkdir -p "$(dirname "$src")" "$tools/bin"
cp -R "$dir" "$src"
chmod -R u+w "$src"
echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
echo "switchboard-provision" > "$src/build/version/package.txt"

echo "building ferretdb $FERRETDB_VERSION (takes a few minutes the first time)"
(cd "$src" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -o "$bin.tmp" ./cmd/ferretdb)
mv "$bin.tmp" "$bin"
echo "$FERRETDB_VERSION" > "$stamp"
rm -rf "$src"
"$bin" --version | sed -n 1p  # sed reads to the end: head would SIGPIPE the binary under pipefail
echo "ferretdb $FERRETDB_VERSION installed at $bin"
