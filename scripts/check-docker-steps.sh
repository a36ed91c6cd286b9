#!/usr/bin/env bash
# The Dockerfile's steps without Docker: build, keep production dependencies only in a copy,
# start the built server from that copy as the image would, call it, and stop it with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
image=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$image"' EXIT
pid=0

npm run build --silent
cp package.json package-lock.json "$image/"
cp -r node_modules dist "$image/"
(cd "$image" && npm prune --omit=dev --silent)
if [ -e "$image/node_modules/vitest" ] || [ -e "$image/node_modules/typescript" ]; then
  echo "dev dependencies survived the prune" >&2
  exit 1
fi

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
(cd "$image" && NODE_ENV=production exec node dist/src/server/main.js --host 127.0.0.1 --port "$port") >"$image/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/healthz"
echo
curl -fsS -X POST "http://127.0.0.1:$port/signaling.v1.SignalingService/CreateChannel" \
  -H 'content-type: application/json' -d '{}' | grep -q '"channelId"'
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
if [ "$status" -ne 0 ]; then
  echo "the built server exited with $status after SIGTERM" >&2
  cat "$image/server.log" >&2
  exit 1
fi
echo "docker steps: built, pruned, served, stopped cleanly"
