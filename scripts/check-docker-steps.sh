#!/usr/bin/env bash
# The Dockerfile's steps without Docker (CI has no engine): scripts/docker-steps.ts reads the Dockerfile
# and runs each stage's COPY and RUN steps in a directory standing in for the image (npm ci included),
# then starts the image's command, waits for its HEALTHCHECK on a free SWITCHBOARD_PORT, calls it and
# stops it with the STOPSIGNAL.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npx vite-node scripts/docker-steps.ts
