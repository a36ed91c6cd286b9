import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Side } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import { FakeClock } from "./support/fake-clock.js";
import { answer, candidate, expectCode, offer } from "./support/fixtures.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

const clock = new FakeClock();
let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ limits: { defaultTtlMs: 300_000, minTtlMs: 10_000, maxTtlMs: 3_600_000 } }, { clock });
});
afterAll(() => server.shutdown(0));
const client = () => signalingClient("connect", server.url);

describe("channel expiry", () => {
  it("uses 300 s when no TTL is asked for, and clamps requests to the configured range", async () => {
    const start = clock.now();
    const byDefault = await client().createChannel({});
    expect(Number(byDefault.expireTime!.seconds) * 1000).toBe(start + 300_000);
    const tooLong = await client().createChannel({ ttl: { seconds: 86_400n } });
    expect(Number(tooLong.expireTime!.seconds) * 1000).toBe(start + 3_600_000);
    const tooShort = await client().createChannel({ ttl: { seconds: 1n } });
    expect(Number(tooShort.expireTime!.seconds) * 1000).toBe(start + 10_000);
  });

  it("makes a channel NOT_FOUND for every RPC exactly at its expire time", async () => {
    const c = client();
    const { channelId, offererToken: token } = await c.createChannel({ ttl: { seconds: 30n } });
    await c.setOffer({ channelId, token, offer });
    clock.advance(29_999);
    expect((await c.getChannel({ channelId })).channel?.version).toBe(2);
    clock.advance(1);
    const calls = [
      c.getChannel({ channelId }),
      c.getOffer({ channelId }),
      c.getAnswer({ channelId }),
      c.setOffer({ channelId, token, offer }),
      c.setAnswer({ channelId, answer }),
      c.addIceCandidate({ channelId, token, item: { case: "candidate", value: candidate(1) } }),
      c.listIceCandidates({ channelId, side: Side.OFFERER }),
      c.closeChannel({ channelId, token }),
    ];
    for (const call of calls) await expectCode(call, Code.NotFound);
  });

  it("frees an expired channel's memory without anyone asking for it", async () => {
    const store = new MemoryChannelStore(clock, { maxChannels: 100, maxCandidatesPerSide: 10, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 });
    const local = await startTestServer({}, { clock, store });
    try {
      const c = signalingClient("connect", local.url);
      await c.createChannel({ ttl: { seconds: 20n } });
      await c.createChannel({ ttl: { seconds: 40n } });
      expect(store.size).toBe(2);
      clock.advance(20_000);
      expect(store.size).toBe(1);
      clock.advance(20_000);
      expect(store.size).toBe(0);
    } finally {
      await local.shutdown(0);
    }
  });
});
