import * as http2 from "node:http2";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { probeLatency } from "./support/latency.js";
import type { ServerProcess } from "./support/server-process.js";
import { startServerProcess } from "./support/server-process.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

const attackers = 200;
const createChannelPath = "/signaling.v1.SignalingService/CreateChannel";

/** A raw HTTP/1.1 client sending its request headers one byte every 100 ms; resolves when the server closes it. */
function slowloris(port: number): { closed: Promise<string>; stop(): void } {
  const socket = net.connect(port, "127.0.0.1");
  const request = `POST ${createChannelPath} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Padding: ${"a".repeat(2000)}\r\n\r\n`;
  let sent = 0;
  let answer = "";
  socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
  socket.on("error", () => {});
  const timer = setInterval(() => {
    if (sent < request.length && !socket.destroyed) socket.write(request[sent++]!);
  }, 100);
  const closed = new Promise<string>((resolve) =>
    socket.once("close", () => {
      clearInterval(timer);
      resolve(answer.split("\r\n")[0] || "closed without an answer");
    }),
  );
  return { closed, stop: () => socket.destroy() };
}

/** An HTTP/2 connection with one stream whose request body never comes; resolves when the server closes the connection. */
function bodylessStream(url: string): { closed: Promise<string>; stop(): void } {
  const session = http2.connect(url);
  session.on("error", () => {});
  const stream = session.request(
    { ":method": "POST", ":path": createChannelPath, "content-type": "application/grpc", te: "trailers" },
    { endStream: false },
  );
  let streamEnd = "open";
  stream.on("error", () => {});
  stream.once("close", () => (streamEnd = `stream closed with RST code ${stream.rstCode}`));
  const closed = new Promise<string>((resolve) => session.once("close", () => resolve(streamEnd)));
  return { closed, stop: () => session.destroy() };
}

describe("slow clients", () => {
  let server: RunningServer | undefined;
  let child: ServerProcess | undefined;
  const stops: (() => void)[] = [];
  afterEach(async () => {
    stops.splice(0).forEach((stop) => stop());
    await server?.shutdown(0);
    await child?.kill();
    server = child = undefined;
  });

  it(
    `${attackers} slowloris HTTP/1.1 connections and ${attackers} HTTP/2 streams without a body are closed by the server, while CreateChannel keeps being served`,
    { timeout: 60_000 },
    async () => {
      server = await startTestServer({ connections: { headersTimeoutMs: 2_000, requestTimeoutMs: 3_000, idleTimeoutMs: 1_000 } });
      const port = Number(new URL(server.url).port);
      const client = signalingClient("grpc", server.url);
      await client.createChannel({});
      const probe = probeLatency(() => client.createChannel({}), 5);

      const slow = Array.from({ length: attackers }, () => slowloris(port));
      const bodyless = Array.from({ length: attackers }, () => bodylessStream(server!.url));
      stops.push(...[...slow, ...bodyless].map((a) => a.stop));
      const started = performance.now();
      const [slowEnds, bodylessEnds] = await Promise.all([Promise.all(slow.map((a) => a.closed)), Promise.all(bodyless.map((a) => a.closed))]);
      const closedAfterMs = performance.now() - started;
      const latency = await probe.stop();
      console.log(
        `slow clients closed by the server after ${Math.round(closedAfterMs)} ms; CreateChannel during the attack: ${JSON.stringify(latency)} (the bar is 50 ms p99)`,
      );

      expect(new Set(slowEnds)).toEqual(new Set(["HTTP/1.1 408 Request Timeout"]));
      expect(new Set(bodylessEnds)).toEqual(new Set([`stream closed with RST code ${http2.constants.NGHTTP2_CANCEL}`]));
      expect(latency.failures).toBe(0);
      expect(server.openWatchStreams()).toBe(0);
    },
  );

  it("caps connections per client address; more are closed at once, and a slot frees when one closes", async () => {
    server = await startTestServer({ connections: { maxConnectionsPerClient: 5 } });
    const port = Number(new URL(server.url).port);
    const open = await Promise.all(
      Array.from({ length: 5 }, () => new Promise<net.Socket>((resolve) => { const s = net.connect(port, "127.0.0.1", () => resolve(s)); })),
    );
    stops.push(...open.map((s) => () => s.destroy()));
    const refused = net.connect(port, "127.0.0.1");
    refused.on("error", () => {});
    await new Promise((resolve) => refused.once("close", resolve));

    open[0]!.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const { channelId } = await signalingClient("connect", server.url).createChannel({});
    expect(channelId).not.toBe("");
  });

  it("a trusted proxy may hold more connections than max-connections-per-client; other peers are capped and max-connections still holds", async () => {
    server = await startTestServer({
      connections: { maxConnectionsPerClient: 3, maxConnections: 10 },
      clientAddress: { trustedProxies: ["127.0.0.1"], header: "x-forwarded-for" },
    });
    const port = Number(new URL(server.url).port);
    /** Opens a connection from `from`; resolves whether the server kept it open (a refused one is closed at once). */
    const connectFrom = async (from: string): Promise<boolean> => {
      const socket = net.connect({ port, host: "127.0.0.1", localAddress: from });
      socket.on("error", () => {});
      stops.push(() => socket.destroy());
      await new Promise((resolve) => socket.once("connect", resolve));
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), 300);
        socket.once("close", () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
    };
    // The proxy (127.0.0.1) holds 6 upstream connections, twice the per-client cap.
    const fromProxy = await Promise.all(Array.from({ length: 6 }, () => connectFrom("127.0.0.1")));
    expect(fromProxy).toEqual(Array(6).fill(true));
    // Another peer is still capped at 3.
    const fromOther = [];
    for (let i = 0; i < 4; i++) fromOther.push(await connectFrom("127.0.0.2"));
    expect(fromOther).toEqual([true, true, true, false]);
    // max-connections (10) counts the proxy's: its 10th connection in total is kept, the 11th refused.
    expect(await connectFrom("127.0.0.1")).toBe(true);
    expect(await connectFrom("127.0.0.1")).toBe(false);
  });

  it("refuses HTTP/2 streams past http2-max-concurrent-streams on one connection", async () => {
    server = await startTestServer({ connections: { http2MaxConcurrentStreams: 2 } });
    const session = http2.connect(server.url);
    stops.push(() => session.destroy());
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(2);
  });

  /** Opens `count` streams on `session` and resets each at once (RST_STREAM CANCEL), as a client leaving its watches does. */
  async function openAndCancel(session: http2.ClientHttp2Session, count: number): Promise<void> {
    for (let i = 0; i < count && !session.closed && !session.destroyed; i++) {
      const stream = session.request({ ":method": "POST", ":path": "/signaling.v1.SignalingService/WatchChannel", "content-type": "application/grpc" }, { endStream: false });
      stream.on("error", () => {});
      stream.close(http2.constants.NGHTTP2_CANCEL);
      if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  /** The gRPC status of a health check on `session` (one HTTP/2 stream), or why it failed. */
  function healthCheck(session: http2.ClientHttp2Session): Promise<string> {
    return new Promise((resolve) => {
      const stream = session.request({ ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" });
      stream.on("trailers", (trailers) => resolve(`grpc-status ${String(trailers["grpc-status"])}`));
      stream.on("error", (error) => resolve(error.message));
      stream.resume();
      stream.end(Buffer.alloc(5));
    });
  }

  it("keeps an HTTP/2 connection that resets 3,000 streams in a burst (a proxy carrying many clients' cancelled watches)", async () => {
    server = await startTestServer();
    const session = http2.connect(server.url);
    stops.push(() => session.destroy());
    let goaway: number | undefined;
    session.on("goaway", (code) => (goaway = code));
    session.on("error", () => {});
    // Node's own limit (1,000 resets, then 33 per second) would end this connection with GOAWAY INTERNAL_ERROR.
    await openAndCancel(session, 3_000);
    expect(goaway).toBeUndefined();
    expect(await healthCheck(session)).toBe("grpc-status 0");
  });

  it("ends a connection that resets streams past http2-stream-reset-burst and -rate with GOAWAY, and serves the others", async () => {
    server = await startTestServer({ connections: { http2StreamResetBurst: 20, http2StreamResetRate: 1 } });
    const flooding = http2.connect(server.url);
    const other = http2.connect(server.url);
    stops.push(() => flooding.destroy(), () => other.destroy());
    flooding.on("error", () => {});
    const goaway = new Promise<number>((resolve) => flooding.once("goaway", resolve));
    await openAndCancel(flooding, 200);
    expect(await goaway).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    expect(await healthCheck(other)).toBe("grpc-status 0");
  });

  it("SIGTERM with slow clients connected: the server stops without waiting for them", { timeout: 60_000 }, async () => {
    const graceMs = 5_000;
    child = await startServerProcess({ SWITCHBOARD_SHUTDOWN_GRACE_MS: String(graceMs) });
    const port = Number(new URL(child.url).port);
    const slow = Array.from({ length: 50 }, () => slowloris(port));
    const bodyless = Array.from({ length: 50 }, () => bodylessStream(child!.url));
    stops.push(...[...slow, ...bodyless].map((a) => a.stop));
    await new Promise((r) => setTimeout(r, 1_000));

    const started = performance.now();
    const code = await child.stop();
    const stoppedMs = performance.now() - started;
    console.log(`SIGTERM with 50 slowloris and 50 body-less HTTP/2 streams connected: stopped after ${Math.round(stoppedMs)} ms (grace ${graceMs} ms)`);
    expect(code).toBe(0);
    // Nothing the slow clients sent was a call that had started, so nothing needed the grace period.
    expect(stoppedMs).toBeLessThan(graceMs);
  });
});
