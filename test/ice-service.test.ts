import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { IceService } from "../gen/signaling/v1/ice_pb.js";
import { SdpType } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import type { Config } from "../src/server/config.js";
import { loadConfig } from "../src/server/config.js";
import { createLogger } from "../src/server/logger.js";
import { FakeClock } from "./support/fake-clock.js";
import { opensslHmacSha1Base64 } from "./support/openssl.js";
import type { Protocol } from "./support/test-server.js";
import { protocols, roomClient, signalingClient, startTestServer, transportFor } from "./support/test-server.js";

const secret = "turn-shared-secret-Zq81";

function configFrom(env: Record<string, string>): Config {
  const result = loadConfig([], env);
  if (result.help) throw new Error("unexpected --help");
  return result.config;
}

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

async function startWith(env: Record<string, string>, options: { clock?: FakeClock; log?: string[] } = {}) {
  const logger = createLogger("debug", (line) => options.log?.push(line));
  server = await startTestServer({ ice: configFrom(env).ice }, { logger, ...(options.clock && { clock: options.clock }) });
  return server;
}

function iceClient(baseUrl: string, protocol: Protocol = "connect") {
  return createClient(IceService, transportFor(protocol, baseUrl));
}

const turnEnv = {
  SWITCHBOARD_TURN_REST_URLS: "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349?transport=tcp",
  SWITCHBOARD_TURN_REST_SECRET: secret,
};

describe("GetIceServers with ice-require-token off", () => {
  // These calls present nothing: the server must be told to serve anyone.
  const start = (env: Record<string, string>, options?: Parameters<typeof startWith>[1]) =>
    startWith({ SWITCHBOARD_ICE_REQUIRE_TOKEN: "off", ...env }, options);

  it("returns nothing and no expiry when no server is configured", async () => {
    const { url } = await start({});
    const res = await iceClient(url).getIceServers({});
    expect(res.iceServers).toEqual([]);
    expect(res.expireTime).toBeUndefined();
  });

  it.each(protocols)("returns the static servers as configured (%s)", async (protocol) => {
    const { url } = await start({
      SWITCHBOARD_ICE_SERVERS: JSON.stringify([
        { urls: "stun:stun.example.org:3478" },
        { urls: ["turn:turn.example.org:3478", "turns:turn.example.org:5349"], username: "static", credential: "pw" },
      ]),
    });
    const res = await iceClient(url, protocol).getIceServers({});
    expect(res.iceServers.map(({ urls, username, credential }) => ({ urls, username, credential }))).toEqual([
      { urls: ["stun:stun.example.org:3478"], username: "", credential: "" },
      { urls: ["turn:turn.example.org:3478", "turns:turn.example.org:5349"], username: "static", credential: "pw" },
    ]);
    expect(res.expireTime).toBeUndefined();
  });

  it("mints a TURN REST credential: <expiry>:<id>, base64(HMAC-SHA1(secret, username)), expiring after the configured lifetime", async () => {
    const clock = new FakeClock(Date.parse("2026-03-01T12:00:00.750Z"));
    const { url } = await start({ ...turnEnv, SWITCHBOARD_TURN_CREDENTIAL_TTL_SECONDS: "600" }, { clock });
    const res = await iceClient(url).getIceServers({});
    expect(res.iceServers).toHaveLength(1);
    const [turn] = res.iceServers;
    const expiry = Date.parse("2026-03-01T12:10:00Z") / 1000;
    expect(turn?.urls).toEqual(["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"]);
    expect(turn?.username).toMatch(new RegExp(`^${expiry}:[A-Za-z0-9_-]{12}$`));
    expect(turn?.credential).toBe(opensslHmacSha1Base64(secret, turn!.username));
    expect(timestampMs(res.expireTime!)).toBe(expiry * 1000);
  });

  it("mints a fresh credential per call, with the expiry moving with the clock", async () => {
    const clock = new FakeClock(Date.parse("2026-03-01T12:00:00Z"));
    const { url } = await start(turnEnv, { clock });
    const client = iceClient(url);
    const first = await client.getIceServers({});
    clock.advance(3_600_000);
    const second = await client.getIceServers({});
    // The default lifetime is one hour.
    expect(timestampMs(first.expireTime!)).toBe(Date.parse("2026-03-01T13:00:00Z"));
    expect(timestampMs(second.expireTime!)).toBe(Date.parse("2026-03-01T14:00:00Z"));
    expect(second.iceServers[0]?.username).not.toBe(first.iceServers[0]?.username);
    expect(second.iceServers[0]?.username.split(":")[1]).not.toBe(first.iceServers[0]?.username.split(":")[1]);
  });

  it("puts static servers first, then the TURN REST ones", async () => {
    const { url } = await start({ ...turnEnv, SWITCHBOARD_ICE_SERVERS: '[{"urls":"stun:stun.example.org"}]' });
    const res = await iceClient(url).getIceServers({});
    expect(res.iceServers.map((s) => s.urls[0])).toEqual(["stun:stun.example.org", "turn:turn.example.org:3478?transport=udp"]);
  });

  it("never sends or logs the shared secret", async () => {
    const log: string[] = [];
    const { url } = await start({ ...turnEnv, SWITCHBOARD_LOG_LEVEL: "debug" }, { log });
    const res = await iceClient(url).getIceServers({});
    await iceClient(url).getIceServers({ channelId: "not-a-channel" });
    const config = configFrom(turnEnv);
    expect(log.length).toBeGreaterThan(0);
    const wire = JSON.stringify(res, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value));
    for (const text of [wire, log.join(""), JSON.stringify(config), inspect(config, { depth: 10 }), String(config.ice.turnRest?.secret)]) {
      expect(text).not.toContain(secret);
    }
    expect(config.ice.turnRest?.secret.reveal()).toBe(secret);
  });
});

describe("GetIceServers with ice-require-token on (the default)", () => {
  const env = turnEnv;
  const start = startWith;
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => "ok",
      (e: unknown) => Code[ConnectError.from(e).code],
    );

  it("refuses callers without a token of a live channel", async () => {
    const { url } = await start(env);
    const ice = iceClient(url);
    const { channelId } = await signalingClient("connect", url).createChannel({});
    expect(await codeOf(ice.getIceServers({}))).toBe("Unauthenticated");
    expect(await codeOf(ice.getIceServers({ channelId }))).toBe("Unauthenticated");
    expect(await codeOf(ice.getIceServers({ channelId: "nope", token: "A".repeat(43) }))).toBe("InvalidArgument");
    expect(await codeOf(ice.getIceServers({ channelId, token: "A".repeat(43) }))).toBe("PermissionDenied");
    expect(await codeOf(ice.getIceServers({ channelId: "00000000-0000-4000-8000-000000000000", token: "A".repeat(43) }))).toBe("NotFound");
  });

  it("serves the offerer and the answerer of a channel", async () => {
    const { url } = await start(env);
    const ice = iceClient(url);
    const rpc = signalingClient("connect", url);
    const { channelId, offererToken } = await rpc.createChannel({});
    await rpc.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: "v=0\r\n" } });
    const { answererToken } = await rpc.setAnswer({ channelId, answer: { type: SdpType.ANSWER, sdp: "v=0\r\n" } });
    for (const token of [offererToken, answererToken]) {
      const res = await ice.getIceServers({ channelId, token });
      expect(res.iceServers[0]?.credential).toBe(opensslHmacSha1Base64(secret, res.iceServers[0]!.username));
    }
  });

  it("binds the channel id into the TURN username (coturn REST <expiry>:<id>) and keeps credentials for an hour by default", async () => {
    const clock = new FakeClock(Date.parse("2026-03-01T12:00:00Z"));
    const { url } = await start(env, { clock });
    const { channelId, offererToken: token } = await signalingClient("connect", url).createChannel({});
    const res = await iceClient(url).getIceServers({ channelId, token });
    const expiry = Date.parse("2026-03-01T13:00:00Z") / 1000;
    expect(res.iceServers[0]?.username).toBe(`${expiry}:${channelId}`);
    expect(timestampMs(res.expireTime!)).toBe(expiry * 1000);
  });

  it("serves a room member presenting its session, with the session id in the username; refuses a stranger's session", async () => {
    const { url } = await start(env);
    const ice = iceClient(url);
    const rooms = roomClient("connect", url);
    const room = "ice-room";
    const joined = await rooms.joinRoom({ room });
    const session = { sessionId: joined.sessionId, sessionToken: joined.sessionToken };
    const res = await ice.getIceServers({ room, session });
    expect(res.iceServers[0]?.username).toMatch(new RegExp(`^\\d+:${joined.sessionId}$`));
    expect(await codeOf(ice.getIceServers({ room, session: { ...session, sessionToken: "A".repeat(43) } }))).toBe("PermissionDenied");
    expect(await codeOf(ice.getIceServers({ room: "other-room", session }))).toBe("NotFound");
    await rooms.leaveRoom({ room, session });
    expect(await codeOf(ice.getIceServers({ room, session }))).toBe("NotFound");
  });
});

describe("CreateChannel and SetAnswer hand each peer its ICE servers", () => {
  it.each(protocols)("with TURN credentials minted for the channel, as GetIceServers would (%s)", async (protocol) => {
    const clock = new FakeClock(Date.parse("2026-03-01T12:00:00Z"));
    const { url } = await startWith(
      { ...turnEnv, SWITCHBOARD_ICE_SERVERS: '[{"urls":"stun:stun.example.org"}]', SWITCHBOARD_TURN_CREDENTIAL_TTL_SECONDS: "900" },
      { clock },
    );
    const created = await signalingClient(protocol, url).createChannel({ offer: { type: SdpType.OFFER, sdp: "v=0\r\n" } });
    const expiry = Date.parse("2026-03-01T12:15:00Z") / 1000;
    expect(created.iceServers.map((s) => ({ urls: s.urls, username: s.username }))).toEqual([
      { urls: ["stun:stun.example.org"], username: "" },
      { urls: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"], username: `${expiry}:${created.channelId}` },
    ]);
    const turn = created.iceServers[1]!;
    expect(turn.credential).toBe(opensslHmacSha1Base64(secret, turn.username));
    expect(timestampMs(created.iceServersExpireTime!)).toBe(expiry * 1000);
    // The same list GetIceServers gives the offerer's token.
    const fetched = await iceClient(url).getIceServers({ channelId: created.channelId, token: created.offererToken });
    expect(fetched.iceServers).toEqual(created.iceServers);

    // The answerer gets its own with its token, bound to the channel too.
    clock.advance(60_000);
    const answered = await signalingClient(protocol, url).setAnswer({ channelId: created.channelId, answer: { type: SdpType.ANSWER, sdp: "v=0\r\n" } });
    const answerTurn = answered.iceServers[1]!;
    expect(answerTurn.username).toBe(`${expiry + 60}:${created.channelId}`);
    expect(answerTurn.credential).toBe(opensslHmacSha1Base64(secret, answerTurn.username));
    expect(timestampMs(answered.iceServersExpireTime!)).toBe((expiry + 60) * 1000);
  });

  it("static servers only: no expiry", async () => {
    const { url } = await startWith({ SWITCHBOARD_ICE_SERVERS: '[{"urls":"stun:stun.example.org"}]' });
    const created = await signalingClient("connect", url).createChannel({});
    expect(created.iceServers.map((s) => s.urls)).toEqual([["stun:stun.example.org"]]);
    expect(created.iceServersExpireTime).toBeUndefined();
  });

  it("none when no ICE server is configured", async () => {
    const { url } = await startWith({});
    const rpc = signalingClient("grpc", url);
    const created = await rpc.createChannel({ offer: { type: SdpType.OFFER, sdp: "v=0\r\n" } });
    expect(created.iceServers).toEqual([]);
    expect(created.iceServersExpireTime).toBeUndefined();
    const answered = await rpc.setAnswer({ channelId: created.channelId, answer: { type: SdpType.ANSWER, sdp: "v=0\r\n" } });
    expect(answered.iceServers).toEqual([]);
    expect(answered.iceServersExpireTime).toBeUndefined();
  });
});
