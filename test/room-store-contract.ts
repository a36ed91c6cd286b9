import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../src/lib/clock.js";
import type { NewMember, RoomEvent } from "../src/store/room.js";
import { isFor } from "../src/store/room.js";
import type { RoomLimits, RoomStore, RoomStoreFailure } from "../src/store/room-store.js";
import { RoomStoreError } from "../src/store/room-store.js";
import { FakeClock } from "./support/fake-clock.js";
import { RoomRecorder } from "./support/room-recorder.js";

export interface RoomStoreHarness {
  /**
   * A store using `clock` for every time it reads or waits for, with an
   * empty set of rooms (so that `maxRooms` counts only this test's rooms).
   */
  open(clock: Clock, limits: RoomLimits): Promise<RoomStore>;
}

export const roomContractLimits: RoomLimits = { defaultSeats: 2, sessionTimeoutMs: 30_000, maxRooms: 1000, maxBacklogBytes: 4096 };
const timeout = roomContractLimits.sessionTimeoutMs;
let nextId = 0;

/** A room name no other test (or earlier run against the same database) uses. */
function roomName(): string {
  return `room-${process.pid}-${Date.now()}-${nextId++}`;
}

function member(room: string, name: string, seats?: number): NewMember {
  return { room, seats, sessionId: `${name}-${nextId++}`, tokenHash: `hash-of-${name}`, displayName: name };
}

async function failure(promise: Promise<unknown>): Promise<RoomStoreFailure> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RoomStoreError);
  return (error as RoomStoreError).reason;
}

function summary(event: RoomEvent): string {
  switch (event.kind) {
    case "joined":
      return `${event.sequence} joined ${event.member.displayName}`;
    case "left":
      return `${event.sequence} left ${event.sessionId} ${event.reason}`;
    case "message":
      return `${event.sequence} ${event.messageKind} ${event.from}->${event.to ?? "*"} ${event.body}`;
  }
}

/** The behaviour every RoomStore shares, whatever holds the rooms. */
export function describeRoomStoreContract(name: string, harness: RoomStoreHarness): void {
  describe(`${name} room store contract`, () => {
    // Starts at the real time so that a database's own TTL deletion (real time) never runs ahead of the store's clock.
    let clock: FakeClock;
    let store: RoomStore;
    const opened: RoomStore[] = [];

    async function open(limits: Partial<RoomLimits> = {}): Promise<RoomStore> {
      const s = await harness.open(clock, { ...roomContractLimits, ...limits });
      opened.push(s);
      return s;
    }

    beforeEach(async () => {
      clock = new FakeClock(Date.now());
      store = await open();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    describe("join", () => {
      it("creates the room with the default seats and seats the member with a joined event", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        const state = await store.join(alice);
        expect(state).toMatchObject({ name: room, seats: roomContractLimits.defaultSeats, sequence: 1 });
        expect(state.members).toEqual([
          { sessionId: alice.sessionId, tokenHash: "hash-of-alice", displayName: "alice", joinTime: clock.now(), expireTime: clock.now() + timeout },
        ]);
        expect(await store.getRoom(room)).toEqual(state);
        const events = await store.eventsSince(room, 0);
        expect(events).toEqual([{ kind: "joined", sequence: 1, member: state.members[0] }]);
      });

      it("lists members in join order", async () => {
        const room = roomName();
        await store.join(member(room, "alice", 3));
        clock.advance(1);
        await store.join(member(room, "bob"));
        clock.advance(1);
        const state = await store.join(member(room, "carol", 3));
        expect(state.members.map((m) => m.displayName)).toEqual(["alice", "bob", "carol"]);
        expect(state.sequence).toBe(3);
      });

      it("refuses a member beyond the seats with room-full", async () => {
        const room = roomName();
        await store.join(member(room, "alice"));
        await store.join(member(room, "bob"));
        expect(await failure(store.join(member(room, "carol")))).toBe("room-full");
        expect((await store.getRoom(room))?.members).toHaveLength(2);
        expect((await store.getRoom(room))?.sequence).toBe(2);
      });

      it("never seats more members than seats under concurrent joins", async () => {
        const room = roomName();
        const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.join(member(room, `p${i}`, 3))));
        expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
        for (const r of results) {
          if (r.status === "rejected") expect((r.reason as RoomStoreError).reason).toBe("room-full");
        }
        const state = await store.getRoom(room);
        expect(state?.members).toHaveLength(3);
        expect((await store.eventsSince(room, 0)).map((e) => e.sequence)).toEqual([1, 2, 3]);
      });

      it("refuses a seat count that differs from the room's with seats-mismatch", async () => {
        const room = roomName();
        await store.join(member(room, "alice", 4));
        expect(await failure(store.join(member(room, "bob", 3)))).toBe("seats-mismatch");
        await store.join(member(room, "bob", 4));
        const state = await store.join(member(room, "carol"));
        expect(state.seats).toBe(4);
        expect(state.members).toHaveLength(3);
      });

      it("keeps the join secret of the join that created the room: a join without that secret gets join-secret-mismatch", async () => {
        const room = roomName();
        const secret = (hash: string) => ({ joinSecretHash: hash });
        const hashA = Buffer.alloc(32, 1).toString("base64url");
        const hashB = Buffer.alloc(32, 2).toString("base64url");
        await store.join({ ...member(room, "alice", 3), ...secret(hashA) });
        expect(await failure(store.join(member(room, "bob")))).toBe("join-secret-mismatch");
        expect(await failure(store.join({ ...member(room, "bob"), ...secret(hashB) }))).toBe("join-secret-mismatch");
        const state = await store.join({ ...member(room, "bob"), ...secret(hashA) });
        expect(state.members).toHaveLength(2);
      });

      it("refuses a new room beyond maxRooms with room-limit, and takes one again once a room is gone", async () => {
        const small = await open({ maxRooms: 2 });
        const [a, b, c] = [roomName(), roomName(), roomName()];
        const alice = member(a, "alice");
        await small.join(alice);
        await small.join(member(b, "bob"));
        expect(await failure(small.join(member(c, "carol")))).toBe("room-limit");
        // Existing rooms still take members.
        await small.join(member(b, "dave"));
        await small.leave(a, alice.sessionId);
        clock.advance(timeout - 1);
        expect(await failure(small.join(member(c, "carol")))).toBe("room-limit");
        clock.advance(1);
        expect(await small.join(member(c, "carol"))).toMatchObject({ name: c, sequence: 1 });
      });
    });

    describe("renew and timeout", () => {
      it("keeps a member that renews within the timeout", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        await store.join(alice);
        clock.advance(timeout - 1);
        const renewed = await store.renew(room, alice.sessionId);
        expect(renewed.members[0]?.expireTime).toBe(clock.now() + timeout);
        clock.advance(timeout - 1);
        expect((await store.getRoom(room))?.members.map((m) => m.sessionId)).toEqual([alice.sessionId]);
      });

      it("frees the seat of a member that does not renew, with exactly one timed-out left event", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        const bob = member(room, "bob");
        await store.join(alice);
        await store.join(bob);
        const watcher = new RoomRecorder(store, room);
        clock.advance(timeout - 1);
        await store.renew(room, bob.sessionId);
        expect((await store.getRoom(room))?.members).toHaveLength(2);
        clock.advance(1);
        expect((await watcher.events(1)).map(summary)).toEqual([`3 left ${alice.sessionId} timed-out`]);
        // Reads, renewals and more time never produce a second one.
        expect((await store.getRoom(room))?.members.map((m) => m.sessionId)).toEqual([bob.sessionId]);
        expect(await failure(store.renew(room, alice.sessionId))).toBe("session-not-found");
        clock.advance(1000);
        await store.getRoom(room);
        const carol = member(room, "carol");
        await store.join(carol);
        expect((await watcher.events(1)).map(summary)).toEqual(["4 joined carol"]);
        const lefts = (await store.eventsSince(room, 0)).filter((e) => e.kind === "left");
        expect(lefts).toEqual([{ kind: "left", sequence: 3, sessionId: alice.sessionId, reason: "timed-out" }]);
        watcher.unsubscribe();
      });

      it("refuses to renew a session it does not know, or in a room that does not exist", async () => {
        const room = roomName();
        await store.join(member(room, "alice"));
        expect(await failure(store.renew(room, "stranger"))).toBe("session-not-found");
        expect(await failure(store.renew(roomName(), "stranger"))).toBe("room-not-found");
      });
    });

    describe("stats", () => {
      it("counts rooms and seated members; a member that leaves or times out is not counted", async () => {
        if (!store.stats) return expect.fail("the store has no stats()");
        const before = await store.stats();
        const [one, two] = [roomName(), roomName()];
        const alice = member(one, "alice");
        await store.join(alice);
        await store.join(member(one, "bob"));
        await store.join(member(two, "carol"));
        expect(await store.stats()).toEqual({ rooms: before.rooms + 2, members: before.members + 3 });
        await store.leave(one, alice.sessionId);
        expect(await store.stats()).toEqual({ rooms: before.rooms + 2, members: before.members + 2 });
        clock.advance(timeout);
        // Members other tests left in a shared database may time out too, never appear.
        expect((await store.stats()).members).toBeLessThanOrEqual(before.members);
      });
    });

    describe("leave", () => {
      it("frees the seat at once with a left event, and the session is gone for every later call", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        const bob = member(room, "bob");
        await store.join(alice);
        await store.join(bob);
        await store.leave(room, alice.sessionId);
        const events = await store.eventsSince(room, 2);
        expect(events).toEqual([{ kind: "left", sequence: 3, sessionId: alice.sessionId, reason: "left" }]);
        expect((await store.getRoom(room))?.members.map((m) => m.sessionId)).toEqual([bob.sessionId]);
        expect(await failure(store.leave(room, alice.sessionId))).toBe("session-not-found");
        expect(await failure(store.renew(room, alice.sessionId))).toBe("session-not-found");
        expect(await failure(store.send({ room, from: alice.sessionId, to: undefined, messageKind: "data", body: "x" }))).toBe("session-not-found");
        // The seat is free again.
        await store.join(member(room, "carol"));
        // No timed-out event follows for the member that left.
        clock.advance(timeout);
        const lefts = (await store.eventsSince(room, 0)).filter((e) => e.kind === "left");
        expect(lefts.map((e) => e.kind === "left" && e.reason)).toEqual(["left", "timed-out", "timed-out"]);
      });

      it("deletes a room that stays empty for the session timeout", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        await store.join(alice);
        await store.leave(room, alice.sessionId);
        clock.advance(timeout - 1);
        expect(await store.getRoom(room)).toMatchObject({ name: room, members: [], sequence: 2 });
        clock.advance(1);
        expect(await store.getRoom(room)).toBeUndefined();
        expect(await failure(store.eventsSince(room, 0))).toBe("room-not-found");
        expect(await failure(store.leave(room, alice.sessionId))).toBe("room-not-found");
        // Its name is free for a new room with new seats.
        expect(await store.join(member(room, "bob", 5))).toMatchObject({ seats: 5, sequence: 1 });
      });

      it("keeps a room whose members come and go", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        await store.join(alice);
        await store.leave(room, alice.sessionId);
        clock.advance(timeout - 1);
        await store.join(member(room, "bob"));
        clock.advance(timeout - 1);
        expect((await store.getRoom(room))?.members).toHaveLength(1);
      });
    });

    describe("send", () => {
      it("appends a targeted message for one member and a broadcast for every other member", async () => {
        const room = roomName();
        const [alice, bob, carol] = [member(room, "alice", 3), member(room, "bob"), member(room, "carol")];
        for (const m of [alice, bob, carol]) await store.join(m);
        expect(await store.send({ room, from: alice.sessionId, to: bob.sessionId, messageKind: "offer", body: "sdp" })).toEqual({ sequence: 4, recipients: 1 });
        expect(await store.send({ room, from: bob.sessionId, to: undefined, messageKind: "data", body: "hi" })).toEqual({ sequence: 5, recipients: 2 });
        const [targeted, broadcast] = await store.eventsSince(room, 3);
        expect(targeted).toEqual({ kind: "message", sequence: 4, from: alice.sessionId, to: bob.sessionId, messageKind: "offer", body: "sdp", sendTime: clock.now() });
        expect(broadcast).toEqual({ kind: "message", sequence: 5, from: bob.sessionId, messageKind: "data", body: "hi", sendTime: clock.now() });
        expect([alice, bob, carol].map((m) => isFor(targeted!, m.sessionId))).toEqual([false, true, false]);
        expect([alice, bob, carol].map((m) => isFor(broadcast!, m.sessionId))).toEqual([true, false, true]);
      });

      it("counts no recipients for a broadcast in a room of one", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        await store.join(alice);
        expect(await store.send({ room, from: alice.sessionId, to: undefined, messageKind: "data", body: "anyone?" })).toEqual({ sequence: 2, recipients: 0 });
      });

      it("refuses a recipient that is not a member, a sender that is not a member, and an unknown room", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        const bob = member(room, "bob");
        await store.join(alice);
        await store.join(bob);
        const send = (from: string, to: string | undefined, inRoom = room) => store.send({ room: inRoom, from, to, messageKind: "data", body: "x" });
        expect(await failure(send(alice.sessionId, "nobody"))).toBe("recipient-not-found");
        expect(await failure(send("nobody", bob.sessionId))).toBe("session-not-found");
        expect(await failure(send(alice.sessionId, undefined, roomName()))).toBe("room-not-found");
        await store.leave(room, bob.sessionId);
        expect(await failure(send(alice.sessionId, bob.sessionId))).toBe("recipient-not-found");
        clock.advance(timeout);
        expect(await failure(send(alice.sessionId, undefined))).toBe("session-not-found");
        expect((await store.getRoom(room))?.sequence).toBe(4);
      });
    });

    describe("eventsSince", () => {
      it("returns exactly the events after a sequence, in order", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        const bob = member(room, "bob");
        await store.join(alice);
        await store.join(bob);
        await store.send({ room, from: alice.sessionId, to: bob.sessionId, messageKind: "ice-candidate", body: "c1" });
        await store.leave(room, bob.sessionId);
        expect((await store.eventsSince(room, 0)).map(summary)).toEqual([
          "1 joined alice",
          "2 joined bob",
          `3 ice-candidate ${alice.sessionId}->${bob.sessionId} c1`,
          `4 left ${bob.sessionId} left`,
        ]);
        expect((await store.eventsSince(room, 2)).map((e) => e.sequence)).toEqual([3, 4]);
        expect(await store.eventsSince(room, 4)).toEqual([]);
      });

      it("keeps exactly the newest events that fit maxBacklogBytes after every message, never fewer", async () => {
        const small = await open({ maxBacklogBytes: 1000 });
        const room = roomName();
        const alice = member(room, "alice");
        await small.join(alice);
        const body = "y".repeat(236); // counts 300 bytes: three fit in 1000, four do not
        for (let i = 1; i <= 8; i++) {
          const { sequence } = await small.send({ room, from: alice.sessionId, to: undefined, messageKind: "data", body });
          if (i < 4) continue; // before the fourth, the join and every message fit
          expect((await small.eventsSince(room, sequence - 3)).map((e) => e.sequence)).toEqual([sequence - 2, sequence - 1, sequence]);
          expect(await failure(small.eventsSince(room, sequence - 4))).toBe("events-trimmed");
        }
      });

      it("fails with events-trimmed once the backlog limit dropped events asked for", async () => {
        const small = await open({ maxBacklogBytes: 1000 });
        const room = roomName();
        const alice = member(room, "alice");
        await small.join(alice);
        const body = "x".repeat(300);
        for (let i = 0; i < 6; i++) await small.send({ room, from: alice.sessionId, to: undefined, messageKind: "data", body });
        const last = (await small.getRoom(room))!.sequence;
        expect(last).toBe(7);
        expect(await failure(small.eventsSince(room, 0))).toBe("events-trimmed");
        // The newest events fit the limit and are kept.
        const kept = await small.eventsSince(room, last - 2);
        expect(kept.map((e) => e.sequence)).toEqual([last - 1, last]);
        expect(kept[1]).toMatchObject({ kind: "message", body });
      });
    });

    describe("watchRoom", () => {
      it("hands each watcher every event in sequence order", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        await store.join(alice);
        const a = new RoomRecorder(store, room);
        const b = new RoomRecorder(store, room);
        const bob = member(room, "bob");
        await store.join(bob);
        await store.send({ room, from: bob.sessionId, to: alice.sessionId, messageKind: "offer", body: "o" });
        await store.send({ room, from: alice.sessionId, to: bob.sessionId, messageKind: "answer", body: "a" });
        await store.leave(room, bob.sessionId);
        for (const watcher of [a, b]) {
          expect((await watcher.events(4)).map(summary)).toEqual([
            "2 joined bob",
            `3 offer ${bob.sessionId}->${alice.sessionId} o`,
            `4 answer ${alice.sessionId}->${bob.sessionId} a`,
            `5 left ${bob.sessionId} left`,
          ]);
          watcher.unsubscribe();
        }
      });

      it("stops calling a watcher once it unsubscribed", async () => {
        const room = roomName();
        const alice = member(room, "alice");
        await store.join(alice);
        const watcher = new RoomRecorder(store, room);
        watcher.unsubscribe();
        await store.send({ room, from: alice.sessionId, to: undefined, messageKind: "data", body: "x" });
        await store.getRoom(room);
        expect(watcher.pending).toBe(0);
      });
    });
  });
}
