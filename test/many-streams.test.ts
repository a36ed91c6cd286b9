import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { SignalingService } from "../gen/signaling/v1/signaling_pb.js";
import { probeLatency } from "./support/latency.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

const streams = 3_000;
const streamsPerConnection = 100;

/**
 * Opens `streams` WatchChannel streams over gRPC, 100 per HTTP/2 connection; resolves once each has its
 * first message. Each stream has its own AbortController (one signal shared by thousands of client calls
 * would make the client itself quadratic); `cancelAll` aborts them one after another in one go.
 */
async function openStreams(url: string, channelId: string, token: string) {
  const controllers = Array.from({ length: streams }, () => new AbortController());
  const clients = Array.from({ length: streams / streamsPerConnection }, () =>
    createClient(SignalingService, createGrpcTransport({ baseUrl: url })),
  );
  const ended: Promise<string>[] = [];
  const opened: Promise<void>[] = [];
  for (let i = 0; i < streams; i++) {
    const iterator = clients[i % clients.length]!.watchChannel({ channelId, token }, { signal: controllers[i]!.signal })[Symbol.asyncIterator]();
    const first = iterator.next();
    opened.push(first.then(() => undefined));
    ended.push(
      first.then(async () => {
        try {
          while (!(await iterator.next()).done) {
            // keep-alives
          }
          return "ended without error";
        } catch (error) {
          return Code[ConnectError.from(error).code];
        }
      }),
    );
  }
  await Promise.all(opened);
  return { ended, cancelAll: () => controllers.forEach((c) => c.abort()) };
}

describe(`${streams} watch streams`, () => {
  it("cancelled all at once: unary calls keep being served, and every stream's slot is freed", { timeout: 120_000 }, async () => {
    const server = await startTestServer({ limits: { maxWatchersPerChannel: streams } });
    const client = signalingClient("grpc", server.url);
    // With the channel's token: tokenless watchers are capped per client (max-tokenless-watchers-per-client).
    const { channelId, offererToken } = await client.createChannel({});

    let started = performance.now();
    const { ended, cancelAll } = await openStreams(server.url, channelId, offererToken);
    const openMs = performance.now() - started;
    expect(server.openWatchStreams()).toBe(streams);

    const probe = probeLatency(() => client.getChannel({ channelId }));
    await new Promise((r) => setTimeout(r, 100));
    started = performance.now();
    cancelAll();
    const codes = await Promise.all(ended);
    for (let i = 0; i < 2_000 && server.openWatchStreams() > 0; i++) await new Promise((r) => setTimeout(r, 5));
    const cancelMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 100));
    const latency = await probe.stop();
    console.log(
      `${streams} streams: opened in ${Math.round(openMs)} ms; cancelled at once, all slots free after ${Math.round(cancelMs)} ms; ` +
        `GetChannel during the cancel (client and server share this process, so this counts the client side too): ${JSON.stringify(latency)}`,
    );

    expect(new Set(codes)).toEqual(new Set(["Canceled"]));
    expect(server.openWatchStreams()).toBe(0);
    expect(latency.failures).toBe(0);
    await server.shutdown(0);
  });

  it("shutdown ends every one of them with UNAVAILABLE", { timeout: 120_000 }, async () => {
    const server = await startTestServer({ limits: { maxWatchersPerChannel: streams } });
    const { channelId, offererToken } = await signalingClient("grpc", server.url).createChannel({});
    const { ended } = await openStreams(server.url, channelId, offererToken);
    const started = performance.now();
    await server.shutdown(5_000);
    const codes = await Promise.all(ended);
    console.log(`${streams} streams: shutdown took ${Math.round(performance.now() - started)} ms`);
    expect(codes.filter((c) => c !== "Unavailable")).toEqual([]);
  });
});
