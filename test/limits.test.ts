import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SdpType, Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { candidate, expectCode, take } from "./support/fixtures.js";
import { limitSettingHeader } from "../src/service/limit-error.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({
    maxRequestBytes: 4096,
    maxTimeoutMs: 60_000,
    limits: { maxChannels: 3, maxCandidatesPerSide: 2, maxWatchStreams: 3, maxWatchersPerChannel: 2, maxSdpBytes: 100_000 },
  });
});
afterAll(() => server.shutdown(0));
const client = () => signalingClient("grpc", server.url);

describe("configured limits", () => {
  it("refuse channels past max-channels with RESOURCE_EXHAUSTED, and serve again once one closes", async () => {
    const made = [await client().createChannel({}), await client().createChannel({}), await client().createChannel({})];
    const error = await expectCode(client().createChannel({}), Code.ResourceExhausted);
    expect(error.rawMessage).toContain("max-channels");
    await client().closeChannel({ channelId: made[0]!.channelId, token: made[0]!.offererToken });
    const again = await client().createChannel({});
    for (const c of [...made.slice(1), again]) await client().closeChannel({ channelId: c.channelId, token: c.offererToken });
  });

  it("refuse a candidate past max-candidates-per-side, but still accept a retry of one already held", async () => {
    const { channelId, offererToken: token } = await client().createChannel({});
    const add = (n: number) => client().addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(n) } });
    await add(1);
    await add(2);
    const error = await expectCode(add(3), Code.ResourceExhausted);
    expect(error.rawMessage).toContain("max-candidates-per-side");
    expect((await add(2)).added).toBe(false);
    expect((await client().listIceCandidates({ channelId, side: Side.OFFERER })).candidates).toHaveLength(2);
    await client().closeChannel({ channelId, token });
  });

  it("refuse watch streams past max-watchers-per-channel and max-watch-streams", async () => {
    const a = await client().createChannel({});
    const b = await client().createChannel({});
    const abort = new AbortController();
    const tokens = new Map([a, b].map((c) => [c.channelId, c.offererToken]));
    const open = (channelId: string) => {
      const stream = client().watchChannel({ channelId, token: tokens.get(channelId)! }, { signal: abort.signal })[Symbol.asyncIterator]();
      return stream.next().then(() => stream);
    };
    await open(a.channelId);
    await open(a.channelId);
    const perChannel = await expectCode(open(a.channelId), Code.ResourceExhausted);
    expect(perChannel.rawMessage).toContain("max-watchers-per-channel");
    await open(b.channelId);
    const total = await expectCode(open(b.channelId), Code.ResourceExhausted);
    expect(total.rawMessage).toContain("max-watch-streams");
    abort.abort();
    for (let i = 0; i < 200 && server.openWatchStreams() > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(server.openWatchStreams()).toBe(0);
    expect(await take(client().watchChannel({ channelId: b.channelId }), 1)).toHaveLength(1);
    for (const c of [a, b]) await client().closeChannel({ channelId: c.channelId, token: c.offererToken });
  });

  it("refuse a request larger than max-request-bytes with RESOURCE_EXHAUSTED", async () => {
    const { channelId, offererToken: token } = await client().createChannel({});
    await expectCode(client().setOffer({ channelId, token, offer: { type: SdpType.OFFER, sdp: "v".repeat(5000) } }), Code.ResourceExhausted);
    expect((await client().getChannel({ channelId })).channel?.offer).toBeUndefined();
    await client().closeChannel({ channelId, token });
  });

  it("refuse a deadline longer than max-timeout-ms with INVALID_ARGUMENT", async () => {
    await expectCode(client().createChannel({}, { timeoutMs: 120_000 }), Code.InvalidArgument);
    const ok = await client().createChannel({}, { timeoutMs: 30_000 });
    await client().closeChannel({ channelId: ok.channelId, token: ok.offererToken });
  });
});

describe("byte budgets", () => {
  let small: RunningServer;
  beforeAll(async () => {
    small = await startTestServer({ limits: { maxChannelBytes: 3000, maxStoreBytes: 65536 } });
  });
  afterAll(() => small.shutdown(0));

  it("refuse an answer that would pass max-channel-bytes with RESOURCE_EXHAUSTED naming the setting, keeping the channel as it was", async () => {
    const c = signalingClient("connect", small.url);
    const { channelId, offererToken } = await c.createChannel({});
    await c.setOffer({ channelId, token: offererToken, offer: { type: SdpType.OFFER, sdp: "v".repeat(2000) } });
    const error = await expectCode(c.setAnswer({ channelId, answer: { type: SdpType.ANSWER, sdp: "v".repeat(1001) } }), Code.ResourceExhausted);
    expect(error.rawMessage).toContain("max-channel-bytes");
    expect(error.metadata.get(limitSettingHeader)).toBe("max-channel-bytes");
    expect((await c.getChannel({ channelId })).channel?.answer).toBeUndefined();
    await c.closeChannel({ channelId, token: offererToken });
  });

  it("refuse channel data past max-store-bytes over all channels (a client filling many channels), and accept it again once channels close", async () => {
    const c = signalingClient("connect", small.url);
    const made: { channelId: string; offererToken: string }[] = [];
    let error;
    for (let i = 0; i < 40 && !error; i++) {
      const ch = await c.createChannel({});
      made.push(ch);
      error = await c.setOffer({ channelId: ch.channelId, token: ch.offererToken, offer: { type: SdpType.OFFER, sdp: "v".repeat(3000) } }).then(() => undefined, (e: unknown) => e);
    }
    expect(made.length).toBe(22); // 21 offers of 3000 bytes fit in 65536
    expect(error).toMatchObject({ code: Code.ResourceExhausted });
    expect((error as { metadata: Headers }).metadata.get(limitSettingHeader)).toBe("max-store-bytes");
    for (const ch of made.slice(0, 2)) await c.closeChannel({ channelId: ch.channelId, token: ch.offererToken });
    const last = made[made.length - 1]!;
    await c.setOffer({ channelId: last.channelId, token: last.offererToken, offer: { type: SdpType.OFFER, sdp: "v".repeat(3000) } });
    for (const ch of made.slice(2)) await c.closeChannel({ channelId: ch.channelId, token: ch.offererToken });
  });
});
