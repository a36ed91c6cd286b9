import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { defaultConfig } from "../src/server/config.js";
import { answer, answerSdp, candidate, expectCode, offer, take } from "./support/fixtures.js";
import { roomClient, signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { maxWatchersPerChannel: 2, maxTokenlessWatchersPerClient: 2 } });
});
afterAll(() => server.shutdown(0));
const rpc = () => signalingClient("connect", server.url);

/** An answered channel with a candidate on each side. */
async function answeredChannel() {
  const { channelId, offererToken } = await rpc().createChannel({});
  await rpc().setOffer({ channelId, token: offererToken, offer });
  await rpc().addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: candidate(1) } });
  const { answererToken } = await rpc().setAnswer({ channelId, answer });
  await rpc().addIceCandidate({ channelId, token: answererToken, item: { case: "candidate", value: candidate(2) } });
  await rpc().addIceCandidate({ channelId, token: answererToken, item: { case: "endOfCandidates", value: true } });
  return { channelId, offererToken, answererToken };
}

describe("the answer side of a channel is its peers' to read", () => {
  it("GetAnswer needs one of the channel's tokens once answered: UNAUTHENTICATED without, PERMISSION_DENIED for a stranger's", async () => {
    const { channelId, offererToken, answererToken } = await answeredChannel();
    const missing = await expectCode(rpc().getAnswer({ channelId }), Code.Unauthenticated);
    expect(missing.rawMessage).toContain("token");
    const stranger = await rpc().createChannel({});
    await expectCode(rpc().getAnswer({ channelId, token: stranger.offererToken }), Code.PermissionDenied);
    for (const token of [offererToken, answererToken]) expect((await rpc().getAnswer({ channelId, token })).answer?.sdp).toBe(answerSdp);
  });

  it("ListIceCandidates shows the answerer's candidates only with a token; the offerer's to anyone with the id", async () => {
    const { channelId, offererToken } = await answeredChannel();
    await expectCode(rpc().listIceCandidates({ channelId, side: Side.ANSWERER }), Code.Unauthenticated);
    const listed = await rpc().listIceCandidates({ channelId, side: Side.ANSWERER, token: offererToken });
    expect(listed.candidates.map((c) => c.candidate)).toEqual([candidate(2).candidate]);
    expect(listed.complete).toBe(true);
    expect((await rpc().listIceCandidates({ channelId, side: Side.OFFERER })).candidates).toHaveLength(1);
  });

  it("GetChannel without a token shows the offer side only; with one, everything", async () => {
    const { channelId, offererToken } = await answeredChannel();
    const tokenless = (await rpc().getChannel({ channelId })).channel!;
    expect(tokenless.offer?.sdp).toBe(offer.sdp);
    expect(tokenless.offererCandidates).toHaveLength(1);
    expect(tokenless.answer).toBeUndefined();
    expect(tokenless.answererCandidates).toEqual([]);
    expect(tokenless.answererCandidatesComplete).toBe(false);
    const whole = (await rpc().getChannel({ channelId, token: offererToken })).channel!;
    expect(whole.answer?.sdp).toBe(answerSdp);
    expect(whole.answererCandidates).toHaveLength(1);
    await expectCode(rpc().getChannel({ channelId, token: "A".repeat(43) }), Code.PermissionDenied);
  });

  it("a tokenless WatchChannel sees what GetOffer and the offerer's candidates show, never the answer side", async () => {
    const { channelId, offererToken } = await rpc().createChannel({});
    const abort = new AbortController();
    const tokenless = rpc().watchChannel({ channelId }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect((await tokenless.next()).value.event.case).toBe("snapshot");
    await rpc().setOffer({ channelId, token: offererToken, offer });
    const { answererToken } = await rpc().setAnswer({ channelId, answer });
    await rpc().addIceCandidate({ channelId, token: answererToken, item: { case: "candidate", value: candidate(2) } });
    await rpc().addIceCandidate({ channelId, token: offererToken, item: { case: "candidate", value: candidate(1) } });
    await rpc().closeChannel({ channelId, token: offererToken });
    const seen = [];
    for (let next = await tokenless.next(); !next.done; next = await tokenless.next()) seen.push(next.value);
    expect(seen.map((m) => m.event.case)).toEqual(["offer", "iceCandidateAdded", "channelClosed"]);
    expect(JSON.stringify(seen)).not.toContain(answerSdp);
    // Resuming from a version shows the same view.
    const again = await answeredChannel();
    const resumed = await take(rpc().watchChannel({ channelId: again.channelId, afterVersion: 1 }), 2);
    expect(resumed.map((m) => m.event.case)).toEqual(["offer", "iceCandidateAdded"]);
    const snapshot = (await take(rpc().watchChannel({ channelId: again.channelId }), 1))[0]!.event;
    expect(snapshot.case === "snapshot" && snapshot.value.answer).toBeUndefined();
    abort.abort();
  });

  it("a WatchChannel with a wrong token is PERMISSION_DENIED", async () => {
    const { channelId } = await rpc().createChannel({});
    await expectCode(take(rpc().watchChannel({ channelId, token: "A".repeat(43) }), 1), Code.PermissionDenied);
  });
});

describe("watch slots", () => {
  it("are taken only by token holders: tokenless watchers of one client hit its own limit, and the peers still get their slots", async () => {
    const { channelId, offererToken, answererToken } = await answeredChannel();
    const abort = new AbortController();
    const open = async (token = "") => {
      const stream = rpc().watchChannel({ channelId, token }, { signal: abort.signal })[Symbol.asyncIterator]();
      await stream.next();
      return stream;
    };
    await open();
    await open();
    const error = await expectCode(open(), Code.ResourceExhausted);
    expect(error.rawMessage).toContain("max-tokenless-watchers-per-client");
    expect(error.metadata.get("switchboard-limit")).toBe("max-tokenless-watchers-per-client");
    // The channel's own slots are untouched by all that.
    await open(offererToken);
    await open(answererToken);
    await expectCode(open(offererToken), Code.ResourceExhausted);
    abort.abort();
    for (let i = 0; i < 200 && server.openWatchStreams() > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(server.openWatchStreams()).toBe(0);
  });
});

describe("tokenless watchers behind one address (an office NAT)", () => {
  it(`the default lets ${defaultConfig().limits.maxTokenlessWatchersPerClient} answerers behind one address watch; one more is RESOURCE_EXHAUSTED naming the setting while another client is served`, { timeout: 60_000 }, async () => {
    const cap = defaultConfig().limits.maxTokenlessWatchersPerClient;
    expect(cap).toBeGreaterThanOrEqual(64);
    // Each "client" is a forwarded address behind a trusted proxy (this test's own connection).
    const nat = await startTestServer({ clientAddress: { trustedProxies: ["127.0.0.1"], header: "x-forwarded-for" } });
    const behind = (address: string) =>
      signalingClient("grpc", nat.url, [(next) => (req) => (req.header.set("x-forwarded-for", address), next(req))]);
    const office = behind("203.0.113.7");
    const abort = new AbortController();
    try {
      const channels = await Promise.all(Array.from({ length: cap + 1 }, () => office.createChannel({})));
      const watch = async (client: ReturnType<typeof behind>, channelId: string) => {
        const stream = client.watchChannel({ channelId }, { signal: abort.signal })[Symbol.asyncIterator]();
        await stream.next();
      };
      await Promise.all(channels.slice(0, cap).map(({ channelId }) => watch(office, channelId)));
      expect(nat.openWatchStreams()).toBe(cap);
      const error = await expectCode(watch(office, channels[cap]!.channelId), Code.ResourceExhausted);
      expect(error.rawMessage).toContain("max-tokenless-watchers-per-client");
      expect(error.metadata.get("switchboard-limit")).toBe("max-tokenless-watchers-per-client");
      // Another client is served, and so is a token holder behind the full address.
      await watch(behind("198.51.100.9"), channels[cap]!.channelId);
      const { channelId, offererToken } = channels[0]!;
      const stream = office.watchChannel({ channelId, token: offererToken }, { signal: abort.signal })[Symbol.asyncIterator]();
      expect((await stream.next()).value?.event.case).toBe("snapshot");
    } finally {
      abort.abort();
      await nat.shutdown(0);
    }
  });
});

describe("a room's join secret", () => {
  it("is set by the creating JoinRoom; a later join without it or with another is PERMISSION_DENIED, with it joins", async () => {
    const rooms = roomClient("connect", server.url);
    const room = `secret-${crypto.randomUUID()}`;
    const first = await rooms.joinRoom({ room, seats: 4, joinSecret: "open sesame" });
    const refused = await expectCode(rooms.joinRoom({ room }), Code.PermissionDenied);
    expect(refused.rawMessage).toContain("join secret");
    await expectCode(rooms.joinRoom({ room, joinSecret: "open sesam" }), Code.PermissionDenied);
    const second = await rooms.joinRoom({ room, joinSecret: "open sesame" });
    expect(second.room?.members.map((m) => m.sessionId)).toEqual([first.sessionId, second.sessionId]);
    // A rejoin proves itself with its session token; it needs no secret.
    const session = { sessionId: first.sessionId, sessionToken: first.sessionToken };
    expect((await rooms.joinRoom({ room, rejoin: session })).sessionId).toBe(first.sessionId);
  });

  it("is not needed for a room created without one, and a later join cannot add one", async () => {
    const rooms = roomClient("connect", server.url);
    const room = `open-${crypto.randomUUID()}`;
    await rooms.joinRoom({ room, seats: 3 });
    await rooms.joinRoom({ room, joinSecret: "mine now" });
    await rooms.joinRoom({ room });
  });

  it("is at most 256 bytes", async () => {
    const error = await expectCode(roomClient("connect", server.url).joinRoom({ room: "long-secret", joinSecret: "x".repeat(257) }), Code.InvalidArgument);
    expect(error.rawMessage).toContain("join_secret");
  });
});
