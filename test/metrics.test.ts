import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { configOf } from "./support/config-of.js";
import { answer, candidate, expectCode, offer } from "./support/fixtures.js";
import { moved, Scrape } from "./support/scrape.js";
import type { ConfigOverrides } from "./support/test-server.js";
import { roomClient, signalingClient, startTestServer } from "./support/test-server.js";

const signaling = "signaling.v1.SignalingService";
let server: RunningServer | undefined;

async function serve(overrides: ConfigOverrides = {}): Promise<RunningServer> {
  server = await startTestServer(overrides);
  return server;
}

afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

describe("GET /metrics", () => {
  it("counts an exchange by method, protocol and code, exactly", async () => {
    const { url } = await serve();
    const grpc = signalingClient("grpc", url);
    const connect = signalingClient("connect", url);
    const before = await Scrape.of(`${url}/metrics`);

    const { channelId, offererToken } = await grpc.createChannel({});
    await grpc.setOffer({ channelId, token: offererToken, offer });
    await expectCode(connect.getAnswer({ channelId }), Code.FailedPrecondition);
    await signalingClient("grpc-web", url).setAnswer({ channelId, answer });
    await connect.getOffer({ channelId });
    await connect.getOffer({ channelId });

    const after = await Scrape.of(`${url}/metrics`);
    expect(moved(before, after, "switchboard_rpc_requests_total")).toEqual({
      [`service=${signaling},method=CreateChannel,protocol=grpc,code=ok`]: 1,
      [`service=${signaling},method=SetOffer,protocol=grpc,code=ok`]: 1,
      [`service=${signaling},method=GetAnswer,protocol=connect,code=failed_precondition`]: 1,
      [`service=${signaling},method=SetAnswer,protocol=grpc-web,code=ok`]: 1,
      [`service=${signaling},method=GetOffer,protocol=connect,code=ok`]: 2,
    });
    expect(moved(before, after, "switchboard_rpc_duration_seconds_count")).toEqual({
      [`service=${signaling},method=CreateChannel`]: 1,
      [`service=${signaling},method=SetOffer`]: 1,
      [`service=${signaling},method=GetAnswer`]: 1,
      [`service=${signaling},method=SetAnswer`]: 1,
      [`service=${signaling},method=GetOffer`]: 2,
    });
    // Every call that reached the store: create, then each call's channel read and write.
    expect(moved(before, after, "switchboard_store_operation_duration_seconds_count")).toMatchObject({
      "store=channels,operation=createChannel": 1,
      "store=channels,operation=setOffer": 1,
      "store=channels,operation=setAnswer": 1,
    });
    expect(moved(before, after, "switchboard_store_operation_errors_total")).toEqual({});
    expect(after.value("switchboard_live_channels")).toBe(1);
    // Label values are names from the descriptors, never ids, tokens or addresses.
    expect(after.text).not.toContain(channelId);
    expect(after.text).not.toContain(offererToken);
    expect(after.text).not.toContain("127.0.0.1");
  });

  it("counts limit refusals by setting, and open watch streams by kind while they are open", async () => {
    const { url } = await serve({ limits: { maxWatchersPerChannel: 1, maxCandidatesPerSide: 1 } });
    const client = signalingClient("grpc", url);
    const { channelId, offererToken } = await client.createChannel({});
    const before = await Scrape.of(`${url}/metrics`);

    const abort = new AbortController();
    // Token holders take the channel's watch slots (tokenless watchers count against their own address).
    const watch = client.watchChannel({ channelId, token: offererToken }, { signal: abort.signal })[Symbol.asyncIterator]();
    await watch.next();
    expect((await Scrape.of(`${url}/metrics`)).value("switchboard_open_streams", { kind: "channel" })).toBe(1);
    await expectCode(client.watchChannel({ channelId, token: offererToken })[Symbol.asyncIterator]().next(), Code.ResourceExhausted);
    await client.addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: candidate(1) } });
    await expectCode(client.addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: candidate(2) } }), Code.ResourceExhausted);
    abort.abort();
    await expect(watch.next()).rejects.toThrow();

    const after = await waitFor(url, (s) => s.value("switchboard_open_streams", { kind: "channel" }) === 0);
    expect(moved(before, after, "switchboard_limit_rejections_total")).toEqual({
      "setting=max-watchers-per-channel": 1,
      "setting=max-candidates-per-side": 1,
    });
    expect(moved(before, after, "switchboard_rpc_requests_total", { method: "WatchChannel" })).toEqual({
      [`service=${signaling},method=WatchChannel,protocol=grpc,code=resource_exhausted`]: 1,
      [`service=${signaling},method=WatchChannel,protocol=grpc,code=canceled`]: 1,
    });
  });

  it("shows live rooms and seated members, and prom-client's process metrics", async () => {
    const { url } = await serve();
    const rooms = roomClient("connect", url);
    const before = await Scrape.of(`${url}/metrics`);
    await rooms.joinRoom({ room: "lobby", displayName: "alice" });
    await rooms.joinRoom({ room: "lobby", displayName: "bob" });
    const after = await Scrape.of(`${url}/metrics`);
    expect(after.value("switchboard_live_rooms") - before.value("switchboard_live_rooms")).toBe(1);
    expect(after.value("switchboard_room_members") - before.value("switchboard_room_members")).toBe(2);
    expect(moved(before, after, "switchboard_store_operation_duration_seconds_count", { store: "rooms" })).toEqual({
      "store=rooms,operation=join": 2,
    });
    expect(after.value("process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(after.text).toContain("nodejs_eventloop_lag_seconds");
  });

  it("is not served with --metrics off", async () => {
    const { url } = await serve({ metrics: { enabled: false, port: undefined } });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).not.toBe(200);
    await res.body?.cancel();
  });
});

describe("--metrics-port", () => {
  it("serves /metrics only on that port, and the main port no longer does", async () => {
    const running = await serve({ metrics: { enabled: true, port: 0 } });
    expect(running.metricsPort).toBeGreaterThan(0);
    expect(running.metricsPort).not.toBe(running.port);
    const admin = `http://127.0.0.1:${running.metricsPort}`;
    const before = await Scrape.of(`${admin}/metrics`);
    await signalingClient("connect", running.url).createChannel({});
    const after = await Scrape.of(`${admin}/metrics`);
    expect(moved(before, after, "switchboard_rpc_requests_total")).toEqual({
      [`service=${signaling},method=CreateChannel,protocol=connect,code=ok`]: 1,
    });

    const main = await fetch(`${running.url}/metrics`);
    expect(main.status).not.toBe(200);
    await main.body?.cancel();
    const other = await fetch(`${admin}/healthz`);
    expect(other.status).toBe(404);
    await other.body?.cancel();
  });

  it("closes with the server", async () => {
    const running = await serve({ metrics: { enabled: true, port: 0 } });
    await running.shutdown(0);
    server = undefined;
    await expect(fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).rejects.toThrow();
  });
});

describe("metrics settings", () => {
  it("serves /metrics on the main port by default; --metrics-port moves it; --metrics off with a port is refused naming both", () => {
    expect(configOf([]).metrics).toEqual({ enabled: true, port: undefined });
    expect(configOf(["--metrics-port", "9464"]).metrics).toEqual({ enabled: true, port: 9464 });
    expect(configOf([], { SWITCHBOARD_METRICS: "off" }).metrics).toEqual({ enabled: false, port: undefined });
    expect(() => configOf(["--metrics", "off", "--metrics-port", "9464"])).toThrow(/--metrics-port is 9464 but --metrics is off/);
    expect(() => configOf(["--metrics-port", "http"])).toThrow(/--metrics-port \/ SWITCHBOARD_METRICS_PORT: must be a whole number/);
  });
});

/** Scrapes until `done` holds: a stream's end reaches the server a moment after the client stops. */
async function waitFor(url: string, done: (scrape: Scrape) => boolean): Promise<Scrape> {
  for (let attempt = 0; ; attempt++) {
    const scrape = await Scrape.of(`${url}/metrics`);
    if (done(scrape) || attempt === 100) return scrape;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
