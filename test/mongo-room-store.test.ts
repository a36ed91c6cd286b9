import { BSON, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewMember, NewMessage, RoomEvent } from "../src/store/room.js";
import type { RoomChange, RoomLimits, RoomStoreFailure } from "../src/store/room-store.js";
import { RoomStoreError } from "../src/store/room-store.js";
import type { MongoRoomStore } from "../src/store/mongo/rooms/mongo-room-store.js";
import type { MongoRoomStoreOptions } from "../src/store/mongo/deployment/options.js";
import { openMongoRoomStore } from "../src/store/mongo/rooms/open-mongo-room-store.js";
import type { RoomDocument, RoomEventDocument } from "../src/store/mongo/rooms/room-document.js";
import { pendingKey } from "../src/store/mongo/rooms/room-document.js";
import { eventReader } from "../src/store/mongo/rooms/room-events.js";
import { RoomSequences } from "../src/store/mongo/rooms/room-sequences.js";
import { RoomWatchHub } from "../src/store/mongo/rooms/room-watch-hub.js";
import { pollOnce } from "../src/store/mongo/deployment/poll-feed.js";
import { FakeClock } from "./support/fake-clock.js";
import type { MongoServer } from "./support/ferretdb.js";
import { mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";
import { RecordingLogger, testMongoOptions } from "./support/mongo-options.js";
import { describeRoomStoreContract } from "./room-store-contract.js";

const target = mongoTarget();

/** FerretDB reads the whole events collection to sweep it: every second is often enough here. */
const roomOptions = (uri: string, database: string, roomLimits: RoomLimits): MongoRoomStoreOptions => ({
  ...testMongoOptions(uri, database, { maxChannels: 1, maxCandidatesPerSide: 1, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 }),
  collection: "rooms",
  sweepIntervalMs: 1000,
  limits: roomLimits,
});
const sessionTimeoutMs = 30_000;
const limits: RoomLimits = { defaultSeats: 2, sessionTimeoutMs, maxRooms: 1000, maxBacklogBytes: 1 << 20 };

let nextName = 0;
const roomName = (what: string) => `${what}-${process.pid}-${Date.now()}-${nextName++}`;
let nextSession = 0;
const member = (room: string, seats?: number): NewMember => {
  const sessionId = `session-${nextSession++}`;
  return { room, seats, sessionId, tokenHash: `hash-of-${sessionId}`, displayName: sessionId };
};
const message = (room: string, from: string, body: string, to?: string): NewMessage => ({ room, from, to, messageKind: "data", body });

async function failure(promise: Promise<unknown>): Promise<RoomStoreFailure | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    expect(error).toBeInstanceOf(RoomStoreError);
    return (error as RoomStoreError).reason;
  }
}

/** Watches a room and hands out its changes in order, waiting when none is there yet. */
class RoomLog {
  readonly changes: RoomChange[] = [];
  private wake: (() => void) | undefined;
  readonly stop: () => void;

  constructor(store: MongoRoomStore, room: string) {
    this.stop = store.watchRoom(room, (change) => {
      this.changes.push(change);
      this.wake?.();
    });
  }

  /** Waits until `count` changes arrived (no time limit: the test's own timeout bounds it). */
  async take(count: number): Promise<RoomChange[]> {
    while (this.changes.length < count) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.changes.slice(0, count);
  }

  /**
   * The first `count` events after sequence `after`. A new watch may start
   * with a few events from before it (the service skips those it read).
   */
  async eventsAfter(after: number, count: number): Promise<RoomEvent[]> {
    for (let seen = 0; ; seen = this.changes.length) {
      const events = this.changes.map((change) => (change.kind === "event" ? change.event : expect.fail(`watch failed: ${change.error.message}`)));
      const later = events.filter((event) => event.sequence > after);
      if (later.length >= count) return later.slice(0, count);
      await this.take(seen + 1);
    }
  }
}

describe.skipIf(!target)("MongoDB room store", () => {
  let server: MongoServer;
  let admin: MongoClient;
  const database = testDatabaseName();
  const clock = new FakeClock(Date.now());
  let a: MongoRoomStore;
  let b: MongoRoomStore;
  const open = (overrides: Partial<RoomLimits> = {}) =>
    openMongoRoomStore(roomOptions(server.uri, database, { ...limits, ...overrides }), clock, new RecordingLogger());
  const roomDoc = (room: string) => admin.db(database).collection<RoomDocument>("rooms").findOne({ _id: room });
  const storedEvents = (epoch: string) => admin.db(database).collection<RoomEventDocument>("rooms.events").find({ epoch }).sort({ sequence: 1 }).toArray();

  const contractDatabases: string[] = [];

  beforeAll(async () => {
    server = await startMongoServer(target!);
    admin = new MongoClient(server.uri, { serverSelectionTimeoutMS: 2000 });
    [a, b] = await Promise.all([open(), open()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    for (const name of [database, ...contractDatabases]) await admin?.db(name).dropDatabase().catch(() => {});
    await admin?.close();
    await server?.dispose();
  });

  // Each store of the contract gets a database of its own, so that maxRooms counts only its test's rooms.
  describeRoomStoreContract("mongodb", {
    open: (contractClock, contractLimits) => {
      const name = testDatabaseName();
      contractDatabases.push(name);
      return openMongoRoomStore(roomOptions(server.uri, name, contractLimits), contractClock, new RecordingLogger());
    },
  });

  it("seats members, refuses a join beyond the seats or with other seats, and frees a seat on leave", async () => {
    const room = roomName("seats");
    const first = member(room, 2);
    expect(await a.join(first)).toMatchObject({ name: room, seats: 2, sequence: 1, members: [{ sessionId: first.sessionId }] });
    const second = member(room);
    expect((await b.join(second)).members.map((m) => m.sessionId)).toEqual([first.sessionId, second.sessionId]);
    expect(await failure(a.join(member(room)))).toBe("room-full");
    expect(await failure(a.join(member(room, 3)))).toBe("seats-mismatch");
    await b.leave(room, first.sessionId);
    expect(await failure(a.leave(room, first.sessionId))).toBe("session-not-found");
    expect(await a.join(member(room))).toMatchObject({ sequence: 4 });
    expect((await a.eventsSince(room, 0)).map((e) => [e.kind, e.sequence])).toEqual([
      ["joined", 1],
      ["joined", 2],
      ["left", 3],
      ["joined", 4],
    ]);
  });

  it("never seats more members than seats under concurrent joins through two stores", async () => {
    const room = roomName("race");
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => failure((i % 2 ? a : b).join(member(room, 5)))));
    expect(results.filter((r) => r === "ok")).toHaveLength(5);
    expect(results.filter((r) => r === "room-full")).toHaveLength(19);
    const state = await b.getRoom(room);
    expect(state?.members).toHaveLength(5);
    expect((await a.eventsSince(room, 0)).map((e) => [e.kind, e.sequence])).toEqual([1, 2, 3, 4, 5].map((n) => ["joined", n]));
  });

  it("creates a room once when the first joins race on two stores", async () => {
    const room = roomName("create");
    const [x, y] = [member(room, 2), member(room, 2)];
    await Promise.all([a.join(x), b.join(y)]);
    const state = await a.getRoom(room);
    expect(state?.members.map((m) => m.sessionId).sort()).toEqual([x.sessionId, y.sessionId].sort());
    expect(state?.sequence).toBe(2);
  });

  it("keeps message bodies out of the room document, which holds the last write's events only", async () => {
    const room = roomName("big");
    const [x, y] = [member(room), member(room)];
    await a.join(x);
    await b.join(y);
    // MongoDB's 16 MiB document limit never comes near: the room document's size does not grow with the messages.
    const sizes: number[] = [];
    for (let n = 0; n < 24; n++) {
      await (n % 2 ? a : b).send(message(room, x.sessionId, String(n % 10).repeat(64 * 1024), y.sessionId));
      sizes.push(BSON.calculateObjectSize((await roomDoc(room))!));
    }
    expect(Math.max(...sizes)).toBeLessThan(64 * 1024 + 4096);
    const doc = (await roomDoc(room))!;
    expect(doc.sequence).toBe(26);
    expect(Object.keys(doc.pending)).toEqual([pendingKey(26)]);
    const stored = await storedEvents(doc.epoch);
    expect(stored.map((e) => e.sequence)).toEqual(Array.from({ length: stored.length }, (_, i) => 26 - stored.length + i));
    const last = (await a.eventsSince(room, 25))[0];
    expect(last?.kind === "message" && last.body).toBe("3".repeat(64 * 1024));
  });

  it("keeps the backlog within its byte limit, trimming the oldest first", async () => {
    const small = await open({ maxBacklogBytes: 8000 });
    try {
      const room = roomName("backlog");
      const x = member(room);
      await small.join(x);
      // Each counts 1000 + 64 bytes: exactly 7 fit in the limit.
      for (let n = 0; n < 20; n++) await small.send(message(room, x.sessionId, "m".repeat(1000)));
      const doc = (await roomDoc(room))!;
      const stored = await storedEvents(doc.epoch);
      const kept = await small.eventsSince(room, doc.sequence - 6);
      expect(kept).toHaveLength(6);
      expect(await failure(small.eventsSince(room, 0))).toBe("events-trimmed");
      // Never more than the limit: the stored events plus the one still in the room document.
      const keptEvents = [...stored, ...Object.values(doc.pending)].filter((e) => e.startOffset >= doc.backlogFrom);
      expect(keptEvents.length * 1064).toBeLessThanOrEqual(8000);
      // MongoDB deletes them at once; FerretDB's sweeper after the session timeout.
      if (small.writes === "atomic-update") expect(stored.every((e) => e.startOffset >= doc.backlogFrom)).toBe(true);
    } finally {
      await small.close();
    }
  });

  it("hands a watcher on one store every event written through both, once each and in order", async () => {
    const room = roomName("order");
    const [x, y] = [member(room, 3), member(room, 3)];
    await a.join(x);
    await b.join(y);
    const onA = new RoomLog(a, room);
    const onB = new RoomLog(b, room);
    const sends = Array.from({ length: 60 }, (_, n) => (n % 2 ? a : b).send(message(room, n % 3 ? x.sessionId : y.sessionId, `m${n}`)));
    const sequences = (await Promise.all(sends)).map((r) => r.sequence).sort((p, q) => p - q);
    expect(sequences).toEqual(Array.from({ length: 60 }, (_, i) => i + 3));
    for (const log of [onA, onB]) {
      const events = await log.eventsAfter(2, 60);
      expect(events.map((e) => e.sequence)).toEqual(sequences);
      expect(new Set(events.map((e) => e.kind === "message" && e.body)).size).toBe(60);
    }
    onA.stop();
    onB.stop();
  });

  it("keeps an event in the room document until the next write copied it, and serves it from either place", async () => {
    const room = roomName("outbox");
    const x = member(room);
    await a.join(x);
    const watcher = new RoomLog(b, room);
    const sent = await a.send(message(room, x.sessionId, "first"));
    const doc = (await roomDoc(room))!;
    const events = admin.db(database).collection<RoomEventDocument>("rooms.events");
    expect(Object.keys(doc.pending)).toEqual([pendingKey(sent.sequence)]);
    expect(await events.countDocuments({ epoch: doc.epoch, sequence: sent.sequence })).toBe(0);
    expect((await b.eventsSince(room, 1)).map((e) => e.kind === "message" && e.body)).toEqual(["first"]);
    // As if a writer had copied it and died before its update: the next write finds the copy and goes on.
    await events.insertOne(doc.pending[pendingKey(sent.sequence)]!);
    await b.send(message(room, x.sessionId, "second"));
    expect(await events.countDocuments({ epoch: doc.epoch, sequence: sent.sequence })).toBe(1);
    expect(Object.keys((await roomDoc(room))!.pending)).toEqual([pendingKey(sent.sequence + 1)]);
    expect((await b.eventsSince(room, 1)).map((e) => e.kind === "message" && e.body)).toEqual(["first", "second"]);
    expect((await watcher.eventsAfter(1, 2)).map((e) => e.kind === "message" && e.body)).toEqual(["first", "second"]);
    watcher.stop();
  });

  it("times out a silent member once, with one left event seen through both stores, and keeps renewed ones", async () => {
    const room = roomName("timeout");
    const [silent, renewing] = [member(room), member(room)];
    await a.join(silent);
    await b.join(renewing);
    const onA = new RoomLog(a, room);
    const onB = new RoomLog(b, room);
    clock.advance(sessionTimeoutMs - 1000);
    await b.renew(room, renewing.sessionId);
    clock.advance(1000);
    // Both stores' reapers and explicit reaping race for it.
    await Promise.all([a.timeOutExpiredMembers(), b.timeOutExpiredMembers(), a.timeOutExpiredMembers(), b.timeOutExpiredMembers()]);
    // Exactly one left event: the next event each watcher sees after it is a later message.
    await a.send(message(room, renewing.sessionId, "after"));
    for (const log of [onA, onB]) {
      expect(await log.eventsAfter(2, 2)).toEqual([
        { kind: "left", sequence: 3, sessionId: silent.sessionId, reason: "timed-out" },
        expect.objectContaining({ kind: "message", sequence: 4 }),
      ]);
    }
    expect((await a.eventsSince(room, 2)).map((e) => e.kind)).toEqual(["left", "message"]);
    expect((await b.getRoom(room))?.members.map((m) => m.sessionId)).toEqual([renewing.sessionId]);
    expect(await failure(a.renew(room, silent.sessionId))).toBe("session-not-found");
    expect(await failure(a.send(message(room, renewing.sessionId, "hi", silent.sessionId)))).toBe("recipient-not-found");
    onA.stop();
    onB.stop();
  });

  it("times out members by itself, without any call, through its reaper", async () => {
    const room = roomName("reaper");
    const x = member(room);
    await a.join(x);
    const watcher = new RoomLog(b, room);
    clock.advance(sessionTimeoutMs);
    expect(await watcher.eventsAfter(1, 1)).toEqual([{ kind: "left", sequence: 2, sessionId: x.sessionId, reason: "timed-out" }]);
    watcher.stop();
  });

  it("deletes an empty room after the session timeout, and a new join starts it afresh", async () => {
    const room = roomName("empty");
    const x = member(room, 3);
    await a.join(x);
    await a.send(message(room, x.sessionId, "old"));
    await a.leave(room, x.sessionId);
    const oldEpoch = (await roomDoc(room))!.epoch;
    clock.advance(sessionTimeoutMs - 1);
    expect(await b.getRoom(room)).toMatchObject({ members: [], sequence: 3 });
    clock.advance(1);
    expect(await b.getRoom(room)).toBeUndefined();
    expect(await failure(b.eventsSince(room, 0))).toBe("room-not-found");
    expect(await b.join(member(room, 2))).toMatchObject({ seats: 2, sequence: 1 });
    expect((await a.eventsSince(room, 0)).map((e) => e.kind)).toEqual(["joined"]);
    expect((await roomDoc(room))!.epoch).not.toBe(oldEpoch);
  });

  it("uses TTL indexes where the server has them, else sweeps, and on FerretDB serialises writes with a lease lock", async () => {
    const roomIndexes = await admin.db(database).collection("rooms").indexes();
    const eventIndexes = await admin.db(database).collection("rooms.events").indexes();
    if (a.expiryMode === "ttl-index") {
      expect(roomIndexes).toContainEqual(expect.objectContaining({ key: { expireAt: 1 }, expireAfterSeconds: 0 }));
      expect(eventIndexes).toContainEqual(expect.objectContaining({ key: { expireAt: 1 }, expireAfterSeconds: 0 }));
    } else {
      expect(target!.kind).toBe("ferretdb");
      expect(a.writes).toBe("lease-lock");
      const room = roomName("sweep");
      const x = member(room);
      await a.join(x);
      await a.leave(room, x.sessionId);
      clock.advance(sessionTimeoutMs);
      while (await roomDoc(room)) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(eventIndexes).toContainEqual(expect.objectContaining({ key: { epoch: 1, sequence: 1 } }));
  });

  it("polls every watched room in one query, however many rooms and watchers", async () => {
    const rooms = Array.from({ length: 20 }, () => roomName("poll"));
    for (const room of rooms) {
      const x = member(room);
      await a.join(x);
      for (let n = 0; n < 2; n++) await a.send(message(room, x.sessionId, `m${n}`));
    }
    const observer = new MongoClient(server.uri, { monitorCommands: true, serverSelectionTimeoutMS: 2000 });
    try {
      const db = observer.db(database);
      const lookup = a.writes === "lease-lock" ? "by-id" : "range";
      const hub = new RoomWatchHub(eventReader(db.collection<RoomEventDocument>("rooms.events"), lookup), new RoomSequences(), new RecordingLogger());
      const seen = new Map<string, number[]>();
      for (const room of rooms) {
        for (let n = 0; n < 3; n++) hub.add(room, (change) => change.kind === "event" && n === 0 && seen.set(room, [...(seen.get(room) ?? []), change.event.sequence]));
      }
      const finds: string[] = [];
      observer.on("commandStarted", (event) => event.commandName === "find" && finds.push(String(event.command["find"])));
      await pollOnce(db.collection<RoomDocument>("rooms"), hub, new RecordingLogger());
      expect(finds.filter((collection) => collection === "rooms")).toHaveLength(1);
      // The events the room documents no longer hold: one more query (or, on FerretDB, one lookup by _id each).
      expect(finds.filter((collection) => collection === "rooms.events")).toHaveLength(lookup === "range" ? 1 : 2 * rooms.length);
      expect([...seen.values()]).toEqual(rooms.map(() => [1, 2, 3]));
    } finally {
      await observer.close();
    }
  });

  it("refuses a new room beyond the room limit", async () => {
    const limited = await open({ maxRooms: 1 });
    try {
      // This suite's database already holds live rooms.
      expect(await failure(limited.join(member(roomName("limit"))))).toBe("room-limit");
    } finally {
      await limited.close();
    }
  });
});

describe.skipIf(target?.kind !== "ferretdb")("MongoDB room store without its database", () => {
  it("ends every watch with `unavailable` when the database goes away, and fails calls fast", async () => {
    const server = await startMongoServer(target!);
    const clock = new FakeClock(Date.now());
    const store = await openMongoRoomStore(
      { ...roomOptions(server.uri, testDatabaseName(), limits), serverSelectionTimeoutMs: 300 },
      clock,
      new RecordingLogger(),
    );
    try {
      const room = roomName("down");
      const x = member(room);
      await store.join(x);
      const watcher = new RoomLog(store, room);
      await server.ferret!.stop();
      const [change] = await watcher.take(1);
      expect(change).toMatchObject({ kind: "failed", error: { reason: "unavailable" } });
      expect(await failure(store.send(message(room, x.sessionId, "lost")))).toBe("unavailable");
      expect(await failure(store.getRoom(room))).toBe("unavailable");
    } finally {
      await store.close();
      await server.dispose();
    }
  });
});
