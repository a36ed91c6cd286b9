import { defineConfig } from "vitest/config";

/**
 * The suites that speak the RPC protocols to a real server: they run twice,
 * once with the lean path on (the default) and once with every call going
 * through connect-node's adapter (`lean-path off`), so both routes are held
 * to the same behaviour.
 */
const protocolSuites = [
  "test/exchange.test.ts",
  "test/bad-input.test.ts",
  "test/room-bad-input.test.ts",
  "test/deadline.test.ts",
  "test/watch-channel.test.ts",
  "test/limits.test.ts",
  "test/rooms.test.ts",
  "test/room-presence.test.ts",
  "test/cors.test.ts",
  "test/shutdown.test.ts",
  "test/request-log.test.ts",
  "test/add-ice-candidates.test.ts",
  "test/ice-service.test.ts",
  "test/concurrency.test.ts",
  "test/client-watch.test.ts",
  "test/client-room.test.ts",
  "test/grpcurl.test.ts",
  "test/interop.test.ts",
  "test/lean-path.test.ts",
  "test/undecodable-requests.test.ts",
  "test/fuzz.test.ts",
  "test/rate-limit.test.ts",
  "test/capabilities.test.ts",
  "test/long-error-message.test.ts",
  "test/stalled-watcher.test.ts",
  "test/mass-cancel.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "lean-path-on", include: ["test/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "lean-path-off", include: protocolSuites, env: { SWITCHBOARD_TEST_LEAN_PATH: "off" } },
      },
    ],
  },
});
