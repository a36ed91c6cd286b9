import { createClient } from "@connectrpc/connect";
import type { ClientSessionOptions } from "node:http2";
import type { Interceptor, Transport } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { SignalingService } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { compatMethodClasses } from "../src/server/compat/compat-endpoint.js";
import { parseRate } from "../src/server/pipeline/rate-limit.js";
import { compatMethods } from "../src/service/compat/compat-api.js";
import { postCompat } from "./support/compat-client.js";
import { candidate, expectCode, take } from "./support/fixtures.js";
import { startTestServer } from "./support/test-server.js";

/** A client whose connections come from `localAddress` (any 127.x.y.z reaches a loopback listener). */
function clientFrom(localAddress: string, baseUrl: string, protocol: "connect" | "grpc" | "grpc-web" = "connect", headers: Record<string, string> = {}) {
  // http.request and http2.connect both pass localAddress on to net.connect.
  const nodeOptions = { localAddress };
  const interceptors: Interceptor[] = [
    (next) => (req) => {
      for (const [name, value] of Object.entries(headers)) req.header.set(name, value);
      return next(req);
    },
  ];
  let transport: Transport;
  if (protocol === "grpc") transport = createGrpcTransport({ baseUrl, nodeOptions: nodeOptions as ClientSessionOptions, interceptors });
  else if (protocol === "grpc-web") transport = createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions, interceptors });
  else transport = createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions, interceptors });
  return createClient(SignalingService, transport);
}

const perHour = (count: number) => parseRate(`${count}/h`);

describe("rate limits per client address", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({
      rateLimits: { rates: { create: perHour(3), write: perHour(4), read: undefined, stream: perHour(2) }, maxClients: 1000 },
    });
  });
  afterAll(() => server.shutdown(0));

  it.each(["connect", "grpc", "grpc-web"] as const)(
    "a client over rate-limit-create gets RESOURCE_EXHAUSTED with RetryInfo and retry-after, while another address is served (%s)",
    async (protocol) => {
      const noisy = clientFrom(`127.0.1.${["connect", "grpc", "grpc-web"].indexOf(protocol) + 1}`, server.url, protocol);
      for (let i = 0; i < 3; i++) await noisy.createChannel({});
      const error = await expectCode(noisy.createChannel({}), Code.ResourceExhausted);
      expect(error.rawMessage).toContain("rate-limit-create");
      expect(error.metadata.get("switchboard-limit")).toBe("rate-limit-create");
      const [retry] = error.findDetails(RetryInfoSchema);
      // The bucket refills one call in 1/3 hour: the client is told to wait about that long.
      expect(Number(retry?.retryDelay?.seconds)).toBeGreaterThan(1100);
      expect(Number(retry?.retryDelay?.seconds)).toBeLessThanOrEqual(1200);
      expect(Number(error.metadata.get("retry-after"))).toBeGreaterThan(1100);

      const quiet = clientFrom(`127.0.2.${["connect", "grpc", "grpc-web"].indexOf(protocol) + 1}`, server.url, protocol);
      expect((await quiet.createChannel({})).channelId).not.toBe("");
    },
  );

  it("counts each class apart: a client out of creates still writes and reads", async () => {
    const client = clientFrom("127.0.3.1", server.url);
    const channel = await client.createChannel({});
    await client.createChannel({});
    await client.createChannel({});
    await expectCode(client.createChannel({}), Code.ResourceExhausted);
    const token = channel.offererToken;
    const added = await client.addIceCandidate({ channelId: channel.channelId, token, item: { case: "candidate", value: candidate(1) } });
    expect(added.added).toBe(true);
    for (let i = 0; i < 20; i++) await client.getChannel({ channelId: channel.channelId });
  });

  it("limits streams opened per client with rate-limit-stream", async () => {
    const client = clientFrom("127.0.4.1", server.url);
    const { channelId, offererToken: token } = await client.createChannel({});
    for (let i = 0; i < 2; i++) expect(await take(client.watchChannel({ channelId, token }), 1)).toHaveLength(1);
    const error = await expectCode(take(client.watchChannel({ channelId, token }), 1), Code.ResourceExhausted);
    expect(error.rawMessage).toContain("rate-limit-stream");
    // Another address is served; without the token, whose own budget is spent as well.
    expect(await take(clientFrom("127.0.4.2", server.url).watchChannel({ channelId }), 1)).toHaveLength(1);
    await expectCode(take(clientFrom("127.0.4.3", server.url).watchChannel({ channelId, token }), 1), Code.ResourceExhausted);
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy (no proxies trusted here)", async () => {
    for (let i = 0; i < 3; i++) {
      await clientFrom("127.0.5.1", server.url, "connect", { "x-forwarded-for": `198.51.100.${i}` }).createChannel({});
    }
    const spoofing = clientFrom("127.0.5.1", server.url, "connect", { "x-forwarded-for": "198.51.100.200" });
    await expectCode(spoofing.createChannel({}), Code.ResourceExhausted);
  });
});

describe("rate limits behind a trusted proxy", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({
      clientAddress: { trustedProxies: ["127.0.6.0/24"], header: "x-forwarded-for" },
      rateLimits: { rates: { create: perHour(2), write: perHour(3), read: undefined, stream: undefined }, maxClients: 1000 },
    });
  });
  afterAll(() => server.shutdown(0));

  const viaProxy = (forwardedFor: string) => clientFrom("127.0.6.1", server.url, "connect", { "x-forwarded-for": forwardedFor });

  it("takes the client from the header a trusted proxy writes: one client is limited, the next is served", async () => {
    await viaProxy("203.0.113.7").createChannel({});
    await viaProxy("203.0.113.7").createChannel({});
    await expectCode(viaProxy("203.0.113.7").createChannel({}), Code.ResourceExhausted);
    // Entries a client wrote itself sit left of what the proxy appended: they do not change who it is.
    await expectCode(viaProxy("10.9.9.9, 203.0.113.7").createChannel({}), Code.ResourceExhausted);
    expect((await viaProxy("203.0.113.8").createChannel({})).channelId).not.toBe("");
  });

  it("skips trusted proxies in the chain and reads RFC 7239 Forwarded the same way", async () => {
    await viaProxy("203.0.113.20, 127.0.6.9").createChannel({});
    await viaProxy("203.0.113.20").createChannel({});
    await expectCode(viaProxy("198.18.0.1, 203.0.113.20, 127.0.6.9").createChannel({}), Code.ResourceExhausted);
  });

  it("gives one token one budget, whatever address presents it", async () => {
    const { channelId, offererToken: token } = await viaProxy("203.0.113.30").createChannel({});
    for (let i = 0; i < 3; i++) {
      await viaProxy(`203.0.113.${31 + i}`).addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(i) } });
    }
    const error = await expectCode(
      viaProxy("203.0.113.40").addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(9) } }),
      Code.ResourceExhausted,
    );
    expect(error.rawMessage).toContain("rate-limit-write");
  });
});

describe("the JSON endpoint (compat-api)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({
      compatPath: "/",
      clientAddress: { trustedProxies: ["127.0.0.1"], header: "x-forwarded-for" },
      rateLimits: { rates: { create: perHour(2), write: perHour(3), read: perHour(3), stream: undefined }, maxClients: 1000 },
    });
  });
  afterAll(() => server.shutdown(0));

  /** A compat call from the client a trusted proxy (this test's loopback peer) names. */
  const compat = (client: string, body: Record<string, unknown>) =>
    postCompat(`${server.url}/`, body, { headers: { "x-forwarded-for": client } });
  const rejections = async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith('switchboard_limit_rejections_total{setting="rate-limit-create"}'));
    return Number(line?.split(" ")[1] ?? 0);
  };

  it("answers a client over rate-limit-create with 429, retry-after and a message naming the setting, while another client is served", async () => {
    const before = await rejections();
    for (let i = 0; i < 2; i++) expect((await compat("203.0.113.50", { method: "create_data_channel" })).status).toBe(200);
    const refused = await compat("203.0.113.50", { method: "create_data_channel" });
    expect(refused.status).toBe(429);
    expect(refused.contentType).toMatch(/^text\/plain/);
    expect(refused.text).toContain("rate-limit-create");
    expect(refused.headers.get("switchboard-limit")).toBe("rate-limit-create");
    // The bucket refills one call in 1/2 hour: the client is told to wait about that long.
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(1700);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(1800);
    expect(await rejections()).toBe(before + 1);
    expect((await compat("203.0.113.51", { method: "create_data_channel" })).status).toBe(200);
  });

  it("charges each method by its class: out of creates, a client still writes until rate-limit-write, and reads until rate-limit-read", async () => {
    const client = "203.0.113.60";
    const { channel_id } = JSON.parse((await compat(client, { method: "create_data_channel" })).text) as { channel_id: string };
    await compat(client, { method: "create_data_channel" });
    expect((await compat(client, { method: "create_data_channel" })).status).toBe(429);
    const offer = { type: "offer", sdp: "v=0" };
    for (let i = 0; i < 3; i++) expect((await compat(client, { method: "create_offer", channel_id, offer })).status).toBe(200);
    const write = await compat(client, { method: "create_candidate", channel_id, candidate: "c" });
    expect({ status: write.status, setting: write.headers.get("switchboard-limit") }).toEqual({ status: 429, setting: "rate-limit-write" });
    for (let i = 0; i < 3; i++) expect((await compat(client, { method: "get_offer", channel_id })).status).toBe(200);
    const read = await compat(client, { method: "get_candidates", channel_id });
    expect({ status: read.status, setting: read.headers.get("switchboard-limit") }).toEqual({ status: 429, setting: "rate-limit-read" });
  });

  it("charges malformed and unknown requests as reads, so garbage is limited too", async () => {
    const client = "203.0.113.70";
    for (const body of [{ method: "no_such_method" }, { nothing: true }, { method: 7 }]) expect((await compat(client, body)).status).toBe(400);
    expect((await compat(client, { method: "get_offer" })).status).toBe(429);
  });

  it("shares one budget with the RPCs: a client out of CreateChannel calls gets 429 from create_data_channel", async () => {
    const client = "203.0.113.80";
    const rpc = clientFrom("127.0.0.1", server.url, "connect", { "x-forwarded-for": client });
    await rpc.createChannel({});
    await rpc.createChannel({});
    expect((await compat(client, { method: "create_data_channel" })).status).toBe(429);
  });

  it("classes every compat method", () => {
    expect(Object.keys(compatMethodClasses).sort()).toEqual([...compatMethods].sort());
  });
});

describe("Forwarded (RFC 7239) behind a trusted proxy", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({
      clientAddress: { trustedProxies: ["127.0.7.1", "2001:db8:ffff::/48"], header: "forwarded" },
      rateLimits: { rates: { create: perHour(1), write: undefined, read: undefined, stream: undefined }, maxClients: 1000 },
    });
  });
  afterAll(() => server.shutdown(0));

  const via = (forwarded: string) => clientFrom("127.0.7.1", server.url, "connect", { forwarded });

  it("reads for= (quoted IPv6 with port too) and counts an IPv6 client by its /64", async () => {
    await via('for="[2001:db8:1:2::10]:4711";proto=https, for=[2001:db8:ffff::1]').createChannel({});
    await expectCode(via('for="[2001:db8:1:2:aaaa::99]"').createChannel({}), Code.ResourceExhausted);
    await via("for=192.0.2.60;proto=http;by=203.0.113.43").createChannel({});
    await expectCode(via("for=192.0.2.60").createChannel({}), Code.ResourceExhausted);
    await via('for="[2001:db8:1:3::10]"').createChannel({});
  });
});

describe("the limiter's own memory", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startTestServer({
      clientAddress: { trustedProxies: ["127.0.8.1"], header: "x-forwarded-for" },
      rateLimits: { rates: { create: perHour(1), write: undefined, read: undefined, stream: undefined }, maxClients: 3 },
    });
  });
  afterAll(() => server.shutdown(0));

  const from = (address: string) => clientFrom("127.0.8.1", server.url, "connect", { "x-forwarded-for": address });

  it("holds at most rate-limit-max-clients budgets: a thousand addresses later, the first one's is forgotten (and full again)", async () => {
    await from("192.0.2.1").createChannel({});
    await expectCode(from("192.0.2.1").createChannel({}), Code.ResourceExhausted);
    // Each new client takes a budget; only the three most recent are kept, whatever the number of clients.
    for (let i = 0; i < 1000; i++) await from(`198.51.${i >> 8}.${i & 255}`).createChannel({});
    expect((await from("192.0.2.1").createChannel({})).channelId).not.toBe("");
    // The most recent clients are still held to their budget.
    await expectCode(from("198.51.3.231").createChannel({}), Code.ResourceExhausted);
  });
});
