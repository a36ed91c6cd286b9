import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/server/logger.js";
import { expectCode, offer, offerSdp, take } from "./support/fixtures.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

async function serveWithLog(level: "debug" | "info") {
  const lines: string[] = [];
  const server = await startTestServer({}, { logger: createLogger(level, (line) => lines.push(line)) });
  return { server, client: signalingClient("grpc", server.url), records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("request log", () => {
  it("writes one JSON line per call at debug, with procedure and code but never SDP or tokens", async () => {
    const { server, client, records } = await serveWithLog("debug");
    const { channelId, offererToken } = await client.createChannel({});
    await client.setOffer({ channelId, token: offererToken, offer });
    await expectCode(client.getAnswer({ channelId }), Code.FailedPrecondition);
    await server.shutdown(0);

    const calls = records().filter((r) => r["msg"] === "request");
    expect(calls.map((r) => [r["procedure"], r["code"]])).toEqual([
      ["/signaling.v1.SignalingService/CreateChannel", "ok"],
      ["/signaling.v1.SignalingService/SetOffer", "ok"],
      ["/signaling.v1.SignalingService/GetAnswer", "FailedPrecondition"],
    ]);
    const everything = JSON.stringify(records());
    expect(everything).not.toContain(offererToken);
    expect(everything).not.toContain(offerSdp.slice(0, 20));
  });

  it("writes the line of a stream the client cancels, with code Canceled", async () => {
    const { server, client, records } = await serveWithLog("debug");
    const { channelId } = await client.createChannel({});
    await take(client.watchChannel({ channelId }), 1);
    await expect.poll(() => records().filter((r) => r["msg"] === "request").length).toBe(2);
    await server.shutdown(0);
    const watch = records().find((r) => r["procedure"] === "/signaling.v1.SignalingService/WatchChannel");
    expect(watch).toMatchObject({ level: "debug", code: "Canceled" });
    expect(watch).not.toHaveProperty("traceId");
  });

  it("writes no per-call lines at info", async () => {
    const { server, client, records } = await serveWithLog("info");
    await client.createChannel({});
    await server.shutdown(0);
    expect(records().filter((r) => r["msg"] === "request")).toEqual([]);
    expect(records().map((r) => r["msg"])).toEqual(["listening", "shutting down", "stopped"]);
  });
});
