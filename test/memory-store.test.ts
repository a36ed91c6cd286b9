import { describe, expect, it } from "vitest";
import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import { describeChannelStoreContract } from "./store-contract.js";
import { FakeClock } from "./support/fake-clock.js";

describeChannelStoreContract("memory", {
  open: async (clock, limits) => new MemoryChannelStore(clock, limits),
});

describe("memory store byte budget", () => {
  it("refuses a change that would pass max-store-bytes over all channels with store-bytes, and frees a channel's bytes when it closes", async () => {
    const clock = new FakeClock();
    const store = new MemoryChannelStore(clock, { maxChannels: 100, maxCandidatesPerSide: 8, maxChannelBytes: 1000, maxStoreBytes: 2500 });
    const open = (n: number) => store.createChannel({ id: `c${n}`, offererTokenHash: "h", createTime: clock.now(), expireTime: clock.now() + 60_000 });
    for (const n of [1, 2]) await store.setOffer((await open(n)).id, "o".repeat(1000));
    const third = await open(3);
    await store.setOffer(third.id, "o".repeat(500));
    const error = await (async () => store.setOffer(third.id, "o".repeat(501)))().catch((e: unknown) => e);
    expect(error).toMatchObject({ reason: "store-bytes" });
    expect(store.bytes).toBe(2500);
    await store.closeChannel("c1", "offerer");
    expect(store.bytes).toBe(1500);
    await store.setOffer(third.id, "o".repeat(1000));
    expect(store.bytes).toBe(2000);
  });
});
