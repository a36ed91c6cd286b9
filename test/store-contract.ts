import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../src/lib/clock.js";
import type { NewChannel, StoredCandidate } from "../src/store/channel.js";
import { eventsSince } from "../src/store/channel-events.js";
import type { ChannelStore, StoreFailure, StoreLimits } from "../src/store/store.js";
import { addCandidate, completeCandidates, StoreError } from "../src/store/store.js";
import { ChangeRecorder } from "./support/change-recorder.js";
import { FakeClock } from "./support/fake-clock.js";

export interface StoreHarness {
  /**
   * A store using `clock` for every expiry decision, with an empty set of
   * channels (so that maxChannels counts only this test's channels).
   */
  open(clock: Clock, limits: StoreLimits): Promise<ChannelStore>;
}

const limits: StoreLimits = { maxChannels: 1000, maxCandidatesPerSide: 3, maxChannelBytes: 4096, maxStoreBytes: 1 << 20 };
const ttlMs = 60_000;
let nextId = 0;

function newChannel(clock: Clock): NewChannel {
  const now = clock.now();
  return { id: `ch-${process.pid}-${Date.now()}-${nextId++}`, offererTokenHash: "offerer-hash", createTime: now, expireTime: now + ttlMs };
}

const candidate = (n: number): StoredCandidate => ({ candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n} 5000${n} typ host`, sdpMid: "0", sdpMLineIndex: 0 });

/**
 * A store call as a promise: a store may answer synchronously (the memory store returns, or throws its
 * StoreError, at once), so concurrent calls and expected failures go through this.
 */
async function run<T>(call: () => T | Promise<T>): Promise<T> {
  return call();
}

async function failure(call: () => unknown): Promise<StoreFailure> {
  const error: unknown = await run(call).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return (error as StoreError).reason;
}

/** The behaviour every ChannelStore shares, whatever holds the channels. */
export function describeChannelStoreContract(name: string, harness: StoreHarness): void {
  describe(`${name} store contract`, () => {
    // Starts at the real time so that a database's own TTL deletion (real time) never runs ahead of the store's clock.
    let clock: FakeClock;
    let store: ChannelStore;

    beforeEach(async () => {
      clock = new FakeClock(Date.now());
      store = await harness.open(clock, limits);
    });
    afterEach(async () => {
      await store.close();
    });

    describe("createChannel / getChannel", () => {
      it("creates a channel at version 1 with nothing in it", async () => {
        const init = newChannel(clock);
        const created = await store.createChannel(init);
        expect(created).toMatchObject({ id: init.id, version: 1, offererTokenHash: "offerer-hash", expireTime: init.expireTime });
        expect(await store.getChannel(init.id)).toEqual(created);
        expect(created.candidates).toEqual({ offerer: [], answerer: [] });
        expect(created.candidatesComplete).toEqual({ offerer: undefined, answerer: undefined });
      });

      it("has no channel under an unknown id", async () => {
        expect(await store.getChannel("never-created")).toBeUndefined();
      });
    });

    describe("the short exchange: descriptions with their candidates in one step", () => {
      it("creates a channel with its offer and the offerer's candidates, one version step each, as separate calls would", async () => {
        const init = { ...newChannel(clock), offer: { sdp: "offer", candidates: { batch: [candidate(1), candidate(1), candidate(2)], complete: true } } };
        const created = await store.createChannel(init);
        expect(created).toMatchObject({ version: 5, offer: { value: "offer", version: 2 }, candidatesComplete: { offerer: 5 } });
        expect(created.candidates.offerer).toEqual([
          { value: candidate(1), version: 3 },
          { value: candidate(2), version: 4 },
        ]);
        expect(await store.getChannel(init.id)).toEqual(created);
        expect(eventsSince(created, 1).map((e) => e.kind)).toEqual(["offer", "candidate", "candidate", "candidates-complete"]);
      });

      it("refuses an offer bringing more candidates than a side holds, and creates nothing", async () => {
        const init = { ...newChannel(clock), offer: { sdp: "offer", candidates: { batch: [1, 2, 3, 4].map((n) => candidate(n)), complete: false } } };
        expect(await failure(() => store.createChannel(init))).toBe("candidate-limit");
        expect(await store.getChannel(init.id)).toBeUndefined();
      });

      it("sets the answer and the answerer's candidates in one step", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await store.setOffer(id, "offer", { batch: [candidate(1)], complete: true });
        const answered = await store.setAnswer(id, "answer", "h", { batch: [candidate(2)], complete: true });
        expect(answered).toMatchObject({ version: 7, answer: { value: "answer", version: 5 }, candidatesComplete: { offerer: 4, answerer: 7 } });
        expect(answered.candidates.answerer).toEqual([{ value: candidate(2), version: 6 }]);
        expect(await store.getChannel(id)).toEqual(answered);
      });

      it("changes nothing when the candidates of an answer are refused, and keeps the answer free for the next caller", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await store.setOffer(id, "offer");
        const tooMany = { batch: [1, 2, 3, 4].map((n) => candidate(n)), complete: false };
        expect(await failure(() => store.setAnswer(id, "answer", "h", tooMany))).toBe("candidate-limit");
        expect((await store.getChannel(id))?.answer).toBeUndefined();
        expect((await store.setAnswer(id, "answer", "h")).version).toBe(3);
      });

      it("replaces the offer and adds only the new candidates; refuses new ones after end-of-candidates, changing nothing", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await store.setOffer(id, "offer-1", { batch: [candidate(1)], complete: false });
        const replaced = await store.setOffer(id, "offer-2", { batch: [candidate(1), candidate(2)], complete: true });
        expect(replaced).toMatchObject({ version: 6, offer: { value: "offer-2", version: 4 }, candidatesComplete: { offerer: 6 } });
        expect(await failure(() => store.setOffer(id, "offer-3", { batch: [candidate(3)], complete: false }))).toBe("candidates-complete");
        expect(await store.getChannel(id)).toEqual(replaced);
      });
    });

    describe("offer and answer", () => {
      it("raises the version by one per change and records it on each value", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        expect((await store.setOffer(id, "offer-1")).offer).toEqual({ value: "offer-1", version: 2 });
        const replaced = await store.setOffer(id, "offer-2");
        expect(replaced).toMatchObject({ version: 3, offer: { value: "offer-2", version: 3 } });
        const answered = await store.setAnswer(id, "answer", "answerer-hash");
        expect(answered).toMatchObject({ version: 4, answer: { value: "answer", version: 4 }, answererTokenHash: "answerer-hash" });
        expect(await store.getChannel(id)).toEqual(answered);
      });

      it("refuses an answer before the offer, a second answer, and a new offer once answered", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        expect(await failure(() => store.setAnswer(id, "answer", "h"))).toBe("no-offer");
        await store.setOffer(id, "offer");
        await store.setAnswer(id, "answer", "h");
        expect(await failure(() => store.setAnswer(id, "answer-2", "h2"))).toBe("already-answered");
        expect(await failure(() => store.setOffer(id, "offer-2"))).toBe("offer-locked");
        expect((await store.getChannel(id))?.version).toBe(3);
      });

      it("keeps exactly one of many concurrent answers", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await store.setOffer(id, "offer");
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => run(() => store.setAnswer(id, `answer-${i}`, `h-${i}`))));
        const won = results.filter((r) => r.status === "fulfilled");
        expect(won).toHaveLength(1);
        for (const r of results) {
          if (r.status === "rejected") expect((r.reason as StoreError).reason).toBe("already-answered");
        }
        const state = await store.getChannel(id);
        expect(state?.version).toBe(3);
        expect(state?.answer).toEqual((won[0] as PromiseFulfilledResult<{ answer: unknown }>).value.answer);
      });
    });

    describe("candidates", () => {
      it("appends candidates per side, each at its own version, and ignores an identical retry", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const first = await addCandidate(store, id, "offerer", candidate(1));
        expect(first.changed).toBe(true);
        expect(first.state.candidates.offerer).toEqual([{ value: candidate(1), version: 2 }]);
        const retry = await addCandidate(store, id, "offerer", candidate(1));
        expect(retry).toEqual({ state: first.state, changed: false });
        const other = await addCandidate(store, id, "answerer", candidate(1));
        expect(other.state.version).toBe(3);
        expect(other.state.candidates.answerer).toEqual([{ value: candidate(1), version: 3 }]);
      });

      it("keeps a candidate without optional fields as it was sent", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const bare = { candidate: "candidate:9 1 udp 1 192.0.2.9 9 typ host" };
        const { state } = await addCandidate(store, id, "offerer", bare);
        expect((await store.getChannel(id))?.candidates.offerer).toEqual([{ value: bare, version: state.version }]);
      });

      it("refuses candidates beyond the per-side limit", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        for (let n = 0; n < limits.maxCandidatesPerSide; n++) await addCandidate(store, id, "offerer", candidate(n));
        expect(await failure(() => addCandidate(store, id, "offerer", candidate(99)))).toBe("candidate-limit");
        expect((await addCandidate(store, id, "answerer", candidate(99))).changed).toBe(true);
      });

      it("holds the limit and the dedupe under concurrent calls", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const distinct = await Promise.allSettled(Array.from({ length: 8 }, (_, n) => run(() => addCandidate(store, id, "offerer", candidate(n)))));
        expect(distinct.filter((r) => r.status === "fulfilled")).toHaveLength(limits.maxCandidatesPerSide);
        const same = await Promise.all(Array.from({ length: 8 }, () => run(() => addCandidate(store, id, "answerer", candidate(42)))));
        expect(same.filter((r) => r.changed)).toHaveLength(1);
        const state = await store.getChannel(id);
        expect(state?.version).toBe(1 + limits.maxCandidatesPerSide + 1);
        const versions = [...state!.candidates.offerer, ...state!.candidates.answerer].map((c) => c.version).sort((a, b) => a - b);
        expect(versions).toEqual([2, 3, 4, 5]);
      });

      it("marks a side complete once and then refuses new candidates on it", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await addCandidate(store, id, "offerer", candidate(1));
        const done = await completeCandidates(store, id, "offerer");
        expect(done.changed).toBe(true);
        expect(done.state.candidatesComplete).toEqual({ offerer: 3, answerer: undefined });
        expect(await completeCandidates(store, id, "offerer")).toEqual({ state: done.state, changed: false });
        expect(await failure(() => addCandidate(store, id, "offerer", candidate(2)))).toBe("candidates-complete");
        expect((await addCandidate(store, id, "offerer", candidate(1))).changed).toBe(false);
      });
    });

    describe("addCandidates (a batch)", () => {
      it("adds a batch in one change that takes one version per candidate and one for end-of-candidates, in order", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const watcher = new ChangeRecorder(store, id);
        const result = await store.addCandidates(id, "offerer", [candidate(1), candidate(2)], true);
        expect(result).toMatchObject({ changed: true, added: 2, completed: true });
        expect(result.state.version).toBe(4);
        expect(result.state.candidates.offerer).toEqual([
          { value: candidate(1), version: 2 },
          { value: candidate(2), version: 3 },
        ]);
        expect(result.state.candidatesComplete.offerer).toBe(4);
        expect(await store.getChannel(id)).toEqual(result.state);
        const change = await watcher.nextAfter(1); // a poll may first hand over the channel as created
        expect(change).toMatchObject({ kind: "updated", state: { version: 4 } });
        expect(eventsSince((change as { state: typeof result.state }).state, 1).map((e) => [e.kind, e.version])).toEqual([
          ["candidate", 2],
          ["candidate", 3],
          ["candidates-complete", 4],
        ]);
        watcher.unsubscribe();
      });

      it("ignores candidates already held or repeated in the batch, and changes nothing when all are", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await addCandidate(store, id, "offerer", candidate(1));
        const result = await store.addCandidates(id, "offerer", [candidate(1), candidate(2), candidate(2)], false);
        expect(result).toMatchObject({ changed: true, added: 1, completed: false });
        expect(result.state.candidates.offerer.map((c) => c.value)).toEqual([candidate(1), candidate(2)]);
        expect(result.state.version).toBe(3);
        const retry = await store.addCandidates(id, "offerer", [candidate(2), candidate(1)], false);
        expect(retry).toEqual({ state: result.state, changed: false, added: 0, completed: false });
      });

      it("marks complete alone, once; after that refuses new candidates but accepts a retry of the same batch", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const done = await store.addCandidates(id, "answerer", [candidate(1)], true);
        expect(done).toMatchObject({ added: 1, completed: true });
        const retry = await store.addCandidates(id, "answerer", [candidate(1)], true);
        expect(retry).toEqual({ state: done.state, changed: false, added: 0, completed: false });
        expect(await failure(() => store.addCandidates(id, "answerer", [candidate(1), candidate(2)], true))).toBe("candidates-complete");
        const onlyEnd = await store.addCandidates(id, "offerer", [], true);
        expect(onlyEnd).toMatchObject({ changed: true, added: 0, completed: true });
        expect(onlyEnd.state.candidatesComplete).toEqual({ offerer: 4, answerer: 3 });
        expect(await store.getChannel(id)).toEqual(onlyEnd.state);
      });

      it("refuses a batch that would pass the per-side limit whole, adding none of it", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await addCandidate(store, id, "offerer", candidate(0));
        const over = [candidate(1), candidate(2), candidate(3)];
        expect(await failure(() => store.addCandidates(id, "offerer", over, true))).toBe("candidate-limit");
        const state = await store.getChannel(id);
        expect(state?.version).toBe(2);
        expect(state?.candidates.offerer).toHaveLength(1);
        expect(state?.candidatesComplete.offerer).toBeUndefined();
        expect((await store.addCandidates(id, "offerer", [candidate(0), ...over.slice(0, 2)], false)).added).toBe(2);
        expect(await failure(() => store.addCandidates(id, "answerer", [0, 1, 2, 3, 4].map(candidate), false))).toBe("candidate-limit");
      });

      it("holds the limit and the dedupe under concurrent batches", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const batches = [
          [candidate(1), candidate(2)],
          [candidate(2), candidate(3)],
          [candidate(3), candidate(4)],
          [candidate(1), candidate(4)],
        ];
        await Promise.allSettled(batches.map((batch) => run(() => store.addCandidates(id, "offerer", batch, false))));
        const state = (await store.getChannel(id))!;
        const held = state.candidates.offerer.map((c) => c.value.candidate);
        expect(new Set(held).size).toBe(held.length);
        expect(held.length).toBeLessThanOrEqual(limits.maxCandidatesPerSide);
        expect(state.version).toBe(1 + held.length);
        expect(state.candidates.offerer.map((c) => c.version)).toEqual(held.map((_, i) => 2 + i));
      });

      it("fails with not-found on a channel that does not exist", async () => {
        expect(await failure(() => store.addCandidates("never-created", "offerer", [candidate(1)], true))).toBe("not-found");
        expect(await failure(() => store.addCandidates("never-created", "offerer", [], true))).toBe("not-found");
      });
    });

    describe("eventsSince", () => {
      it("derives the changes after a version from the stored state", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        await store.setOffer(id, "offer");
        await addCandidate(store, id, "offerer", candidate(1));
        await store.setAnswer(id, "answer", "h");
        await completeCandidates(store, id, "offerer");
        const state = (await store.getChannel(id))!;
        expect(eventsSince(state, 2).map((e) => [e.kind, e.version])).toEqual([
          ["candidate", 3],
          ["answer", 4],
          ["candidates-complete", 5],
        ]);
      });
    });

    describe("closeChannel", () => {
      it("removes the channel for every call and tells watchers who closed it", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const watcher = new ChangeRecorder(store, id);
        await store.setOffer(id, "offer");
        await store.closeChannel(id, "answerer");
        expect(await watcher.nextAfter(2)).toEqual({ kind: "closed", closedBy: "answerer", version: 3 });
        expect(await store.getChannel(id)).toBeUndefined();
        expect(await failure(() => store.setOffer(id, "again"))).toBe("not-found");
        expect(await failure(() => store.closeChannel(id, "offerer"))).toBe("not-found");
        watcher.unsubscribe();
      });
    });

    describe("expiry", () => {
      it("makes a channel gone at its expire time for every call", async () => {
        const init = newChannel(clock);
        const { id } = await store.createChannel(init);
        await store.setOffer(id, "offer");
        clock.advance(ttlMs - 1);
        expect(await store.getChannel(id)).toBeDefined();
        clock.advance(1);
        expect(await store.getChannel(id)).toBeUndefined();
        expect(await failure(() => store.setOffer(id, "o"))).toBe("not-found");
        expect(await failure(() => store.setAnswer(id, "a", "h"))).toBe("not-found");
        expect(await failure(() => addCandidate(store, id, "offerer", candidate(1)))).toBe("not-found");
        expect(await failure(() => completeCandidates(store, id, "offerer"))).toBe("not-found");
        expect(await failure(() => store.closeChannel(id, "offerer"))).toBe("not-found");
      });

      it("tells watchers the channel expired", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const watcher = new ChangeRecorder(store, id);
        await store.setOffer(id, "offer");
        expect(await watcher.nextAfter(1)).toMatchObject({ kind: "updated", state: { version: 2 } });
        clock.advance(ttlMs);
        expect(await watcher.nextAfter(2)).toEqual({ kind: "expired", version: 3 });
        watcher.unsubscribe();
      });
    });

    describe("stats", () => {
      it("counts live channels: created ones, not closed or expired ones", async () => {
        if (!store.stats) return expect.fail("the store has no stats()");
        const before = (await store.stats()).liveChannels;
        const a = await store.createChannel(newChannel(clock));
        await store.createChannel(newChannel(clock));
        expect((await store.stats()).liveChannels).toBe(before + 2);
        await store.closeChannel(a.id, "offerer");
        expect((await store.stats()).liveChannels).toBe(before + 1);
        clock.advance(ttlMs);
        // Channels other tests left in a shared database may expire too, never appear.
        expect((await store.stats()).liveChannels).toBeLessThanOrEqual(before);
      });
    });

    describe("watchChannel", () => {
      it("hands each watcher every change in order", async () => {
        const { id } = await store.createChannel(newChannel(clock));
        const a = new ChangeRecorder(store, id);
        const b = new ChangeRecorder(store, id);
        await store.setOffer(id, "offer");
        await addCandidate(store, id, "offerer", candidate(1));
        for (const watcher of [a, b]) {
          const first = await watcher.nextAfter(1);
          expect(first).toMatchObject({ kind: "updated", state: { version: 2 } });
          expect(await watcher.nextAfter(2)).toMatchObject({ kind: "updated", state: { version: 3 } });
          watcher.unsubscribe();
        }
      });
    });
    describe("limits", () => {
      async function withLimits(overrides: Partial<StoreLimits>, body: (limited: ChannelStore) => Promise<void>): Promise<void> {
        const limited = await harness.open(clock, { ...limits, ...overrides });
        try {
          await body(limited);
        } finally {
          await limited.close();
        }
      }

      it("refuses channels past maxChannels with channel-limit, exactly under concurrent creates, and takes one again once a channel closes or expires", async () => {
        await withLimits({ maxChannels: 3 }, async (limited) => {
          const results = await Promise.allSettled(Array.from({ length: 8 }, () => run(() => limited.createChannel(newChannel(clock)))));
          const made = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
          expect(made).toHaveLength(3);
          for (const r of results) if (r.status === "rejected") expect((r.reason as StoreError).reason).toBe("channel-limit");
          await limited.closeChannel(made[0]!.id, "offerer");
          const again = await limited.createChannel(newChannel(clock));
          expect(await failure(() => run(() => limited.createChannel(newChannel(clock))))).toBe("channel-limit");
          clock.advance(ttlMs);
          expect(await limited.getChannel(again.id)).toBeUndefined();
          expect((await limited.createChannel(newChannel(clock))).version).toBe(1);
        });
      });

      it("refuses an offer, answer or candidates past maxChannelBytes with channel-bytes, changing nothing; a smaller offer frees the larger one's bytes", async () => {
        await withLimits({ maxChannelBytes: 1000 }, async (limited) => {
          const { id } = await limited.createChannel(newChannel(clock));
          expect(await failure(() => limited.setOffer(id, "o".repeat(1001)))).toBe("channel-bytes");
          await limited.setOffer(id, "o".repeat(900));
          await limited.setOffer(id, "o".repeat(500)); // replaces the 900 bytes
          const big = { candidate: "c".repeat(300), sdpMid: "0" }; // 301 bytes
          expect(await failure(() => limited.addCandidates(id, "offerer", [big, { ...big, sdpMid: "1" }], false))).toBe("channel-bytes");
          await limited.addCandidates(id, "offerer", [big], false); // 801 held
          expect(await failure(() => limited.setAnswer(id, "a".repeat(200), "answerer-hash"))).toBe("channel-bytes");
          const answered = await limited.setAnswer(id, "a".repeat(199), "answerer-hash"); // 1000 held
          expect(answered.version).toBe(5);
          expect(await failure(() => limited.addCandidates(id, "answerer", [{ candidate: "x", sdpMid: "0" }], false))).toBe("channel-bytes");
          expect((await limited.getChannel(id))?.version).toBe(5);
        });
      });
    });
  });
}
