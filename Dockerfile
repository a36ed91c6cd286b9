# Switchboard: build with the dev toolchain, run the built output with production dependencies only.
# CI has no Docker engine; scripts/check-docker-steps.sh performs these same steps without it.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Fixes to dependencies, applied by the postinstall step (patch-package); see docs/security.md (Bad input).
COPY patches patches
# npm install of the locked versions: see README (Quick start) for why not npm ci.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json buf.yaml buf.gen.yaml ./
COPY proto proto
COPY gen gen
COPY src src
COPY scripts/build-demo.mjs scripts/
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/server/main.js"]
