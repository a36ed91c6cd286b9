# Switchboard in two stages: "build" installs the locked dependencies (dev ones included) and
# compiles; the runtime stage holds the compiled output and the production dependencies only.
# CI has no Docker engine: scripts/check-docker-steps.sh runs these same steps, read from this file.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Fixes to dependencies, applied by the postinstall step (patch-package); see docs/security.md (Bad input).
COPY patches patches
# Exactly the lockfile; npm ci runs the postinstall step that applies the patches.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen gen
COPY src src
COPY scripts/build-demo.mjs scripts/
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# The port the server listens on and the health check calls; set it here (or with -e), not with --port.
ENV SWITCHBOARD_PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# The image's "node" user (uid 1000): numeric, so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "dist/src/server/healthcheck.js"]
STOPSIGNAL SIGTERM
# Arguments after the image name are the command's flags: docker run switchboard --store mongodb ...
# Node's flags are the command's own (the first line of src/server/cli.ts; test/deploy.test.ts keeps them equal).
ENTRYPOINT ["node", "--max-semi-space-size=16", "dist/src/server/cli.js"]
