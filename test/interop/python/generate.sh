#!/usr/bin/env bash
# Writes the Python stubs of proto/ (signaling.proto and the files it imports) into test/interop/python/gen with grpcio-tools
# (its own protoc). PYTHON: the interpreter with grpcio-tools (default: .tools/venv).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
python="${PYTHON:-$root/.tools/venv/bin/python}"
rm -rf "$here/gen" && mkdir -p "$here/gen"
"$python" -m grpc_tools.protoc -I "$root/proto" --python_out="$here/gen" --grpc_python_out="$here/gen" \
  "$root/proto/signaling/v1/signaling.proto" "$root/proto/signaling/v1/ice.proto" "$root/proto/signaling/v1/room.proto"
