import { Code, ConnectError } from "@connectrpc/connect";
import type { Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageKind } from "../gen/signaling/v1/room_pb.js";
import type { RoomService } from "../gen/signaling/v1/room_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { defaultConfig } from "../src/server/config.js";
import { FakeClock } from "./support/fake-clock.js";
import { codeOf } from "./support/fixtures.js";
import type { MongoServer } from "./support/ferretdb.js";
import { disposeWithDatabase, mongoTarget, startMongoServer, testDatabaseName } from "./support/ferretdb.js";
import { describeRoomMessage, RoomStream } from "./support/room-stream.js";
import { join, roomName, until } from "./support/rooms.js";
import { roomClient, startTestServer } from "./support/test-server.js";

const target = mongoTarget();
const timeoutMs = 30_000;

type Rooms = Client<typeof RoomService>;

describe.skipIf(!target)("rooms on two Switchboard processes sharing one MongoDB database", () => {
  let mongo: MongoServer;
  let a: RunningServer;
  let b: RunningServer;
  let onA: Rooms;
  let onB: Rooms;
  // One clock for both, starting at the real time: presence is decided by it, the database's own deletion by real time.
  const clock = new FakeClock(Date.now());
  const database = testDatabaseName();

  beforeAll(async () => {
    mongo = await startMongoServer(target!);
    const base = defaultConfig();
    const mongodb = { ...base.mongodb, uri: mongo.uri, database, pollIntervalMs: 50, serverSelectionTimeoutMs: 1000, sweepIntervalMs: 1000 };
    const rooms = { ...base.rooms, sessionTimeoutMs: timeoutMs };
    a = await startTestServer({ store: "mongodb", mongodb, rooms }, { clock });
    b = await startTestServer({ store: "mongodb", mongodb, rooms }, { clock });
    onA = roomClient("connect", a.url);
    onB = roomClient("grpc", b.url);
  });

  afterAll(async () => {
    await Promise.all([a?.shutdown(0), b?.shutdown(0)]);
    await disposeWithDatabase(mongo, database);
  });

  it("never seats more members than seats under 24 concurrent joins split across both", async () => {
    const room = roomName();
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => codeOf((i % 2 ? onA : onB).joinRoom({ room, seats: 4, displayName: `p${i}` }))));
    expect(results.filter((r) => r === "ok")).toHaveLength(4);
    expect(results.filter((r) => r === Code.ResourceExhausted)).toHaveLength(20);
    const member = await join(onA, room, "late", 0).catch((e: unknown) => ConnectError.from(e));
    expect(member instanceof ConnectError && member.code).toBe(Code.ResourceExhausted);
  });

  it("delivers a member's targeted and broadcast messages to members on the other process, and replies back", async () => {
    const room = roomName();
    const alice = await join(onA, room, "alice", 3);
    const bob = await join(onB, room, "bob");
    const carol = await join(onB, room, "carol");
    const aliceWatch = new RoomStream(onA, { room, session: alice.session, afterSequence: alice.sequence });
    const bobWatch = new RoomStream(onB, { room, session: bob.session, afterSequence: bob.sequence });
    const carolWatch = new RoomStream(onB, { room, session: carol.session, afterSequence: carol.sequence });
    expect(describeRoomMessage(await aliceWatch.next())).toBe("joined bob");
    expect(describeRoomMessage(await aliceWatch.next())).toBe("joined carol");
    expect(describeRoomMessage(await bobWatch.next())).toBe("joined carol");

    const offer = await onA.sendMessage({ room, session: alice.session, toSessionId: bob.sessionId, kind: MessageKind.OFFER, body: "v=0 offer" });
    expect(offer.recipients).toBe(1);
    const all = await onA.sendMessage({ room, session: alice.session, kind: MessageKind.DATA, body: "hello both" });
    expect(all.recipients).toBe(2);
    const bobSees = [await bobWatch.next(), await bobWatch.next()];
    expect(bobSees.map((m) => [m.sequence, describeRoomMessage(m)])).toEqual([
      [offer.sequence, `OFFER ${alice.sessionId}->${bob.sessionId} v=0 offer`],
      [all.sequence, `DATA ${alice.sessionId}->* hello both`],
    ]);
    // Carol's next message is the broadcast: the offer to Bob never reached her.
    const carolSees = await carolWatch.next();
    expect([carolSees.sequence, describeRoomMessage(carolSees)]).toEqual([all.sequence, `DATA ${alice.sessionId}->* hello both`]);

    const answer = await onB.sendMessage({ room, session: bob.session, toSessionId: alice.sessionId, kind: MessageKind.ANSWER, body: "v=0 answer" });
    const aliceSees = await aliceWatch.next();
    expect([aliceSees.sequence, describeRoomMessage(aliceSees)]).toEqual([answer.sequence, `ANSWER ${bob.sessionId}->${alice.sessionId} v=0 answer`]);
    for (const watch of [aliceWatch, bobWatch, carolWatch]) watch.cancel();
  });

  it("turns a presence loss on one process into exactly one left event, seen on both", async () => {
    const room = roomName();
    const alice = await join(onA, room, "alice", 3);
    const bob = await join(onB, room, "bob");
    const carol = await join(onA, room, "carol");
    const aliceWatch = new RoomStream(onA, { room, session: alice.session, afterSequence: carol.sequence });
    const bobWatch = new RoomStream(onB, { room, session: bob.session, afterSequence: carol.sequence });
    const carolWatch = new RoomStream(onA, { room, session: carol.session, afterSequence: carol.sequence });
    await until(() => a.openRoomStreams() === 2 && b.openRoomStreams() === 1);
    // Carol's connection to A drops; her seat is kept for the session timeout from now.
    carolWatch.cancel();
    await until(() => a.openRoomStreams() === 1);
    clock.advance(timeoutMs / 2);
    // (Their open streams renew too; these make it certain before the clock jumps again.)
    await onA.renewSession({ room, session: alice.session });
    await onB.renewSession({ room, session: bob.session });
    clock.advance(timeoutMs / 2);

    // Both processes time members out; the left event is appended once.
    const expected = [carol.sequence + 1n, `left ${carol.sessionId} TIMED_OUT`];
    for (const watch of [aliceWatch, bobWatch]) {
      const left = await watch.next();
      expect([left.sequence, describeRoomMessage(left)]).toEqual(expected);
    }
    const after = await onB.sendMessage({ room, session: bob.session, kind: MessageKind.DATA, body: "carol?" });
    expect(after.sequence).toBe(carol.sequence + 2n);
    // What follows the left event on both is that message: there was no second one.
    expect(describeRoomMessage(await aliceWatch.next())).toBe(`DATA ${bob.sessionId}->* carol?`);
    const got = await onA.getRoom({ room, session: alice.session });
    expect(got.room?.members.map((m) => m.displayName)).toEqual(["alice", "bob"]);
    expect(await codeOf(onB.renewSession({ room, session: carol.session }))).toBe(Code.NotFound);
    aliceWatch.cancel();
    bobWatch.cancel();
  });

  it("keeps the seat of a member that rejoins through the other process within the timeout", async () => {
    const room = roomName();
    const alice = await join(onA, room, "alice");
    const bob = await join(onA, room, "bob");
    const aliceWatch = new RoomStream(onA, { room, session: alice.session, afterSequence: bob.sequence });
    clock.advance(timeoutMs - 1);
    await onA.renewSession({ room, session: alice.session });
    // Bob lost A; he comes back through B with his session, one millisecond before his seat would free.
    expect(await codeOf(onB.joinRoom({ room }))).toBe(Code.ResourceExhausted);
    const back = await onB.joinRoom({ room, rejoin: bob.session });
    expect(back.sessionId).toBe(bob.sessionId);
    clock.advance(1);
    const sent = await onB.sendMessage({ room, session: bob.session, toSessionId: alice.sessionId, kind: MessageKind.DATA, body: "back" });
    const next = await aliceWatch.next();
    expect([next.sequence, describeRoomMessage(next)]).toEqual([sent.sequence, `DATA ${bob.sessionId}->${alice.sessionId} back`]);
    expect(sent.sequence).toBe(bob.sequence + 1n);
    aliceWatch.cancel();
  });
});
