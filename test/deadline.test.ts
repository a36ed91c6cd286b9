import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { protocols, signalingClient, startTestServer } from "./support/test-server.js";

describe("client deadlines", () => {
  let server: RunningServer | undefined;
  afterEach(() => server?.shutdown(0));

  for (const protocol of protocols) {
    it(`are accepted over ${protocol} when max-timeout-ms is 0 (no cap)`, async () => {
      server = await startTestServer({ maxTimeoutMs: 0 });
      const created = await signalingClient(protocol, server.url).createChannel({}, { timeoutMs: 30_000 });
      expect(created.version).toBe(1);
    });
  }

  it("longer than max-timeout-ms are refused with INVALID_ARGUMENT", async () => {
    server = await startTestServer({ maxTimeoutMs: 1000 });
    const call = signalingClient("grpc", server.url).createChannel({}, { timeoutMs: 30_000 });
    await expect(call).rejects.toSatisfy((e) => ConnectError.from(e).code === Code.InvalidArgument);
  });
});
