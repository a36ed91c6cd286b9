import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
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
  const withCompat = { compatPath: "/", ...overrides };
  server = await startTestServer(withCompat, clock ? { clock } : {});
  return `${server.url}${withCompat.compatPath ?? "/"}`;
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

  it("is off by default (compat-api off)", async () => {
    server = await startTestServer();
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

describe("hostile requests", () => {
  it.each([
    ["text/plain (what an HTML form or a no-preflight cross-site fetch can send)", "text/plain"],
    ["application/x-www-form-urlencoded (curl -d without -H)", "application/x-www-form-urlencoded"],
    ["multipart/form-data", "multipart/form-data; boundary=x"],
    ["no content type at all", undefined],
  ])("415 for a body sent as %s, and nothing is created", async (_name, contentType) => {
    const url = await start({ limits: { maxChannels: 1 } });
    const res = await fetch(url, {
      method: "POST",
      body: JSON.stringify({ method: "create_data_channel" }),
      headers: contentType === undefined ? {} : { "content-type": contentType },
    });
    if (contentType === undefined) expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect({ status: res.status, text: await res.text() }).toEqual({ status: 415, text: expect.stringMatching(/content-type: application\/json/) });
    // max-channels is 1: the refused request did not take the one channel.
    await newChannel(url);
  });

  it("accepts application/json with a charset", async () => {
    const url = await start();
    const res = await fetch(url, { method: "POST", body: '{"method":"create_data_channel"}', headers: { "content-type": "Application/JSON; charset=utf-8" } });
    expect(res.status).toBe(200);
  });

  it("400 (not 500, and no error log) for a value nested 5,000 levels deep", async () => {
    const lines: string[] = [];
    server = await startTestServer({ compatPath: "/" }, { logger: createLogger("debug", (line) => lines.push(line)) });
    const url = `${server.url}/`;
    const deep = "[".repeat(5000) + "]".repeat(5000);
    await expect400(url, `{"method":"create_offer","channel_id":"${absentChannel}","offer":${deep}}`, /deeper than 32 levels \(compat-max-json-depth\)/, true);
    // Brackets inside strings are text, not nesting.
    await expect400(url, { method: "create_offer", channel_id: absentChannel, offer: "[".repeat(5000) }, /not found/);
    expect(lines.map((l) => JSON.parse(l) as { level: string }).filter((r) => r.level === "error")).toEqual([]);
    await newChannel(url);
  });

  it("takes values nested up to compat-max-json-depth", async () => {
    const url = await start({ compatMaxJsonDepth: 4 });
    const channelId = await newChannel(url);
    // The body is level 1, so the offer may nest 3 more.
    expect(await callCompat(url, { method: "create_offer", channel_id: channelId, offer: [[["x"]]] })).toEqual({});
    await expect400(url, { method: "create_offer", channel_id: channelId, offer: [[[["x"]]]] }, /deeper than 4 levels/);
  });

  it("over HTTP/2, answers a body over max-request-bytes with 400 at once and resets the stream while the client is still sending", async () => {
    const url = await start();
    const session = http2.connect(server!.url);
    try {
      const outcome = await new Promise<{ status: number; text: string; sentBytes: number; rstCode: number | undefined }>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/", "content-type": "application/json" });
        let status = 0;
        let text = "";
        let sentBytes = 0;
        const chunk = Buffer.alloc(64 * 1024, "x");
        // An upload that never ends on its own: 64 KiB whenever the stream can take it.
        const pump = () => {
          while (!stream.closed && !stream.destroyed && stream.write(chunk)) sentBytes += chunk.length;
          if (!stream.closed && !stream.destroyed) sentBytes += chunk.length;
        };
        stream.on("drain", pump);
        stream.write('{"method":"create_data_channel","padding":"');
        pump();
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.setEncoding("utf8");
        stream.on("data", (c: string) => (text += c));
        stream.on("error", () => {});
        stream.on("close", () => resolve({ status, text, sentBytes, rstCode: stream.rstCode }));
        session.on("error", reject);
      });
      expect(outcome).toMatchObject({ status: 400, text: expect.stringMatching(/larger than 262144 bytes \(max-request-bytes\)/) });
      expect(outcome.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
      // The server did not read 4 MiB (or any fixed multiple of the limit) before answering.
      expect(outcome.sentBytes).toBeLessThan(4 * 1024 * 1024);
    } finally {
      session.close();
    }
    // Nothing is left in flight: the server stops at once with no grace to wait out.
    await server!.shutdown(60_000);
    server = undefined;
    expect(url).toMatch(/\/$/);
  });

  it("over HTTP/1.1, answers a body over max-request-bytes with 400 and closes the connection", async () => {
    const url = await start({ maxRequestBytes: 4096 });
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(5 * 1024 * 1024) });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/larger than 4096 bytes/);
    await newChannel(url);
  });
});
