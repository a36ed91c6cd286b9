import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { callCompat, postCompat } from "./support/compat-client.js";
import { FakeClock } from "./support/fake-clock.js";
import { sampleCandidate, sampleSdp } from "./support/sdp-samples.js";
import type { ConfigOverrides } from "./support/test-server.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

const uuidV4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const absentChannel = "00000000-0000-4000-8000-000000000000";

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

async function start(overrides: ConfigOverrides = {}, clock?: FakeClock): Promise<string> {
  server = await startTestServer(overrides, clock ? { clock } : {});
  return `${server.url}${overrides.compatPath ?? "/"}`;
}

async function newChannel(url: string): Promise<string> {
  return (await callCompat<{ channel_id: string }>(url, { method: "create_data_channel" })).channel_id;
}

/** Expects a 400 with a plain-text message matching `message`. */
async function expect400(url: string, body: unknown, message: RegExp, raw = false): Promise<void> {
  const reply = await postCompat(url, body, { raw });
  expect({ status: reply.status, text: reply.text }).toEqual({ status: 400, text: expect.stringMatching(message) });
  expect(reply.contentType).toMatch(/^text\/plain/);
}

describe("create_data_channel", () => {
  it("returns a UUID channel id with a JSON body", async () => {
    const url = await start();
    const reply = await postCompat(url, { method: "create_data_channel" });
    expect(reply.status).toBe(200);
    expect(reply.contentType).toMatch(/^application\/json/);
    expect(JSON.parse(reply.text)).toEqual({ channel_id: expect.stringMatching(uuidV4) });
  });

  it("fails when the server holds max-channels channels", async () => {
    const url = await start({ limits: { maxChannels: 1 } });
    await newChannel(url);
    await expect400(url, { method: "create_data_channel" }, /maximum number of channels \(max-channels\)/);
  });

  it("creates a channel that lives the configured default TTL (300 s)", async () => {
    const clock = new FakeClock();
    const url = await start({}, clock);
    const channelId = await newChannel(url);
    clock.advance(299_999);
    expect(await callCompat(url, { method: "get_candidates", channel_id: channelId })).toEqual({ items: [] });
    clock.advance(1);
    await expect400(url, { method: "get_candidates", channel_id: channelId }, /not found/);
  });
});

describe("offers", () => {
  const offers: [string, unknown][] = [
    ["an RTCSessionDescriptionInit", { type: "offer", sdp: sampleSdp("offer", "OfFr") }],
    ["a string", JSON.stringify({ type: "offer", sdp: sampleSdp("offer", "OfFr") })],
    ["an object of another shape", { sdp: "x", type: "offer", extra: [1, { nested: null }, "ü"] }],
    ["null", null],
    ["a number", 42.5],
  ];
  it.each(offers)("create_offer then get_offer returns exactly what was stored: %s", async (_name, offer) => {
    const url = await start();
    const channelId = await newChannel(url);
    expect(await callCompat(url, { method: "create_offer", channel_id: channelId, offer })).toEqual({});
    expect(await callCompat(url, { method: "get_offer", channel_id: channelId })).toEqual({ offer });
  });

  it("create_offer replaces an offer that is not answered yet", async () => {
    const url = await start();
    const channelId = await newChannel(url);
    await callCompat(url, { method: "create_offer", channel_id: channelId, offer: "first" });
    await callCompat(url, { method: "create_offer", channel_id: channelId, offer: "second" });
    expect(await callCompat(url, { method: "get_offer", channel_id: channelId })).toEqual({ offer: "second" });
  });

  it("create_offer fails for a channel that does not exist", async () => {
    const url = await start();
    await expect400(url, { method: "create_offer", channel_id: absentChannel, offer: "o" }, /channel 0{8}-.* not found/);
  });

  it("get_offer fails for a channel that does not exist, and for one without an offer", async () => {
    const url = await start();
    await expect400(url, { method: "get_offer", channel_id: absentChannel }, /not found/);
    const channelId = await newChannel(url);
    await expect400(url, { method: "get_offer", channel_id: channelId }, /has no offer yet/);
  });

  it("create_offer fails once the channel is answered", async () => {
    const url = await start();
    const channelId = await newChannel(url);
    await callCompat(url, { method: "create_offer", channel_id: channelId, offer: "o" });
    await callCompat(url, { method: "create_answer", channel_id: channelId, answer: "a" });
    await expect400(url, { method: "create_offer", channel_id: channelId, offer: "o2" }, /already answered/);
  });
});

describe("answers", () => {
  it("create_answer then get_answer returns exactly what was stored", async () => {
    const url = await start();
    const channelId = await newChannel(url);
    const answer = { type: "answer", sdp: sampleSdp("answer", "AnSw") };
    await callCompat(url, { method: "create_offer", channel_id: channelId, offer: { type: "offer", sdp: sampleSdp("offer", "OfFr") } });
    expect(await callCompat(url, { method: "create_answer", channel_id: channelId, answer })).toEqual({});
    expect(await callCompat(url, { method: "get_answer", channel_id: channelId })).toEqual({ answer });
  });

  it("create_answer fails when an answer already exists, and the first answer stays", async () => {
    const url = await start();
    const channelId = await newChannel(url);
    await callCompat(url, { method: "create_offer", channel_id: channelId, offer: "o" });
    await callCompat(url, { method: "create_answer", channel_id: channelId, answer: "first" });
    await expect400(url, { method: "create_answer", channel_id: channelId, answer: "second" }, /already answered/);
    expect(await callCompat(url, { method: "get_answer", channel_id: channelId })).toEqual({ answer: "first" });
  });

  it("create_answer fails for a channel that does not exist, and before any offer", async () => {
    const url = await start();
    await expect400(url, { method: "create_answer", channel_id: absentChannel, answer: "a" }, /not found/);
    const channelId = await newChannel(url);
    await expect400(url, { method: "create_answer", channel_id: channelId, answer: "a" }, /no offer yet; create_answer needs create_offer first/);
  });

  it("get_answer fails for a channel that does not exist, and for one without an answer", async () => {
    const url = await start();
    await expect400(url, { method: "get_answer", channel_id: absentChannel }, /not found/);
    const channelId = await newChannel(url);
    await expect400(url, { method: "get_answer", channel_id: channelId }, /has no answer yet/);
  });
});

describe("candidates", () => {
  it("create_candidate appends to one shared list that get_candidates returns in arrival order", async () => {
    const url = await start();
    const channelId = await newChannel(url);
    await callCompat(url, { method: "create_offer", channel_id: channelId, offer: { type: "offer", sdp: sampleSdp("offer", "OfFr") } });
    const items = [sampleCandidate("OfFr", 50000), "candidate:opaque string", { any: ["shape"] }, sampleCandidate("AnSw", 50001)];
    for (const candidate of items) {
      expect(await callCompat(url, { method: "create_candidate", channel_id: channelId, candidate })).toEqual({});
    }
    expect(await callCompat(url, { method: "get_candidates", channel_id: channelId })).toEqual({ items });
  });

  it("create_candidate ignores a candidate already present, also one posted again after the answer", async () => {
    const url = await start();
    const channelId = await newChannel(url);
    const candidate = sampleCandidate("OfFr", 50000);
    await callCompat(url, { method: "create_offer", channel_id: channelId, offer: "o" });
    await callCompat(url, { method: "create_candidate", channel_id: channelId, candidate });
    await callCompat(url, { method: "create_answer", channel_id: channelId, answer: "a" });
    await callCompat(url, { method: "create_candidate", channel_id: channelId, candidate: { ...candidate } });
    await callCompat(url, { method: "create_candidate", channel_id: channelId, candidate: { b: 1, a: 2 } });
    await callCompat(url, { method: "create_candidate", channel_id: channelId, candidate: { a: 2, b: 1 } });
    expect(await callCompat(url, { method: "get_candidates", channel_id: channelId })).toEqual({ items: [candidate, { a: 2, b: 1 }] });
  });

  it("create_candidate and get_candidates fail for a channel that does not exist", async () => {
    const url = await start();
    await expect400(url, { method: "create_candidate", channel_id: absentChannel, candidate: "c" }, /not found/);
    await expect400(url, { method: "get_candidates", channel_id: absentChannel }, /not found/);
  });

  it("create_candidate fails when a side holds max-candidates-per-side candidates", async () => {
    const url = await start({ limits: { maxCandidatesPerSide: 2 } });
    const channelId = await newChannel(url);
    await callCompat(url, { method: "create_candidate", channel_id: channelId, candidate: "c1" });
    await callCompat(url, { method: "create_candidate", channel_id: channelId, candidate: "c2" });
    await expect400(url, { method: "create_candidate", channel_id: channelId, candidate: "c3" }, /max-candidates-per-side/);
  });
});

describe("malformed requests", () => {
  const cases: [string, unknown, RegExp][] = [
    ["an unknown method", { method: "delete_everything" }, /unknown method "delete_everything"; one of create_data_channel, /],
    ["a method that is not a string", { method: 7 }, /unknown method 7/],
    ["no method", { channel_id: absentChannel }, /method: is required/],
    ["a body that is not an object", ["create_data_channel"], /request body: must be a JSON object/],
    ["no channel_id", { method: "get_offer" }, /channel_id: is required/],
    ["a channel_id that is not a string", { method: "get_offer", channel_id: 12 }, /channel_id: must be a string/],
    ["a channel_id that is not a channel id", { method: "get_offer", channel_id: "../../etc" }, /channel_id: must be a channel id/],
    ["create_offer without offer", { method: "create_offer", channel_id: absentChannel }, /offer: is required/],
    ["create_answer without answer", { method: "create_answer", channel_id: absentChannel }, /answer: is required/],
    ["create_candidate without candidate", { method: "create_candidate", channel_id: absentChannel }, /candidate: is required/],
  ];
  it.each(cases)("400 for %s", async (_name, body, message) => {
    const url = await start();
    await expect400(url, body, message);
  });

  it("400 for malformed JSON", async () => {
    const url = await start();
    await expect400(url, '{"method": "create_data_channel"', /not valid JSON/, true);
  });

  it("400 for a body over max-request-bytes, and the server keeps serving", async () => {
    const url = await start({ maxRequestBytes: 4096 });
    const body = JSON.stringify({ method: "create_data_channel", padding: "x".repeat(4096) });
    await expect400(url, body, /larger than 4096 bytes \(max-request-bytes\)/, true);
    await newChannel(url);
  });

  it("400 for an offer over max-sdp-bytes and a candidate over max-candidate-bytes", async () => {
    const url = await start({ limits: { maxSdpBytes: 1000, maxCandidateBytes: 200 } });
    const channelId = await newChannel(url);
    const bigSdp = { type: "offer", sdp: sampleSdp("offer", "OfFr") + "a=x:" + "y".repeat(1000) + "\r\n" };
    await expect400(url, { method: "create_offer", channel_id: channelId, offer: bigSdp }, /offer.sdp: is \d+ bytes; at most 1000 .*max-sdp-bytes/);
    await expect400(url, { method: "create_offer", channel_id: channelId, offer: "z".repeat(1000) }, /offer: is 1002 bytes; at most 1000/);
    const bigCandidate = { ...sampleCandidate("OfFr", 1), candidate: "candidate:" + "1".repeat(200) };
    await expect400(url, { method: "create_candidate", channel_id: channelId, candidate: bigCandidate }, /max-candidate-bytes/);
    await expect400(url, { method: "create_candidate", channel_id: channelId, candidate: ["q".repeat(200)] }, /max-candidate-bytes/);
    await expect400(url, { method: "get_offer", channel_id: channelId }, /has no offer yet/);
  });

  it.each(["GET", "PUT", "DELETE"])("405 with Allow: POST for %s", async (method) => {
    const url = await start({ compatPath: "/signal" });
    const res = await fetch(url, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(await res.text()).toMatch(new RegExp(`method ${method} not allowed`));
  });

  it("405 for PUT on the default path /, whose Allow also names the landing page's GET and HEAD", async () => {
    const url = await start();
    const res = await fetch(url, { method: "PUT" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
    expect(await res.text()).toMatch(/method PUT not allowed: send POST/);
    expect((await fetch(url)).status).toBe(200);
  });
});

describe("routing", () => {
  it("keeps /healthz and the Connect routes working when the compat path is /", async () => {
    await start();
    const health = await fetch(`${server!.url}/healthz`);
    expect(health.status).toBe(200);
    const created = await signalingClient("connect", server!.url).createChannel({});
    expect(created.channelId).toMatch(uuidV4);
  });

  it("serves a configured path only, ignoring a query string", async () => {
    const url = await start({ compatPath: "/signal" });
    expect(await callCompat(`${url}?v=1`, { method: "create_data_channel" })).toEqual({ channel_id: expect.stringMatching(uuidV4) });
    const atRoot = await postCompat(`${server!.url}/`, { method: "create_data_channel" });
    expect(atRoot.status).toBe(404);
  });

  it("is off when compat-api is off", async () => {
    await start({ compatPath: undefined });
    const reply = await postCompat(`${server!.url}/`, { method: "create_data_channel" });
    expect(reply.status).toBe(404);
  });

  it("answers over HTTP/2 (h2c) too", async () => {
    const url = await start();
    const session = http2.connect(server!.url);
    try {
      const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/", "content-type": "application/json" });
        let status = 0;
        let text = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (text += chunk));
        stream.on("end", () => resolve({ status, text }));
        stream.on("error", reject);
        stream.end(JSON.stringify({ method: "create_data_channel" }));
      });
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.text)).toEqual({ channel_id: expect.stringMatching(uuidV4) });
    } finally {
      session.close();
    }
    expect(url).toBe(`${server!.url}/`);
  });
});
