import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MessageKind } from "../gen/signaling/v1/room_pb.js";
import { FakeClock } from "./support/fake-clock.js";
import { expectCode } from "./support/fixtures.js";
import { describeRoomMessage, RoomStream } from "./support/room-stream.js";
import { join, roomName, roomServers, until } from "./support/rooms.js";
import { roomClient } from "./support/test-server.js";

const serve = roomServers();
const timeoutMs = 30_000;

async function room(clock = new FakeClock()) {
  const server = await serve({ rooms: { sessionTimeoutMs: timeoutMs } }, { clock });
  const client = roomClient("grpc", server.url);
  const name = roomName();
  const alice = await join(client, name, "alice");
  const watch = new RoomStream(client, { room: name, session: alice.session });
  expect(describeRoomMessage(await watch.next())).toBe("snapshot alice");
  const bob = await join(client, name, "bob");
  expect(describeRoomMessage(await watch.next())).toBe("joined bob");
  return { server, client, clock, name, alice, bob, watch };
}

/** Bob still holds his seat 1 ms before his timeout; at it, Alice's stream sees him time out. */
async function expectSeatKeptUntilTimeout({ client, clock, name, bob, watch }: Pick<Awaited<ReturnType<typeof room>>, "client" | "clock" | "name" | "bob" | "watch">) {
  clock.advance(timeoutMs - 1);
  expect((await client.getRoom({ room: name, session: bob.session })).room?.members).toHaveLength(2);
  const left = watch.next();
  clock.advance(1);
  expect(describeRoomMessage(await left)).toBe(`left ${bob.sessionId} TIMED_OUT`);
  watch.cancel();
}

describe("room presence", () => {
  it("keeps the seat and the session of a member that rejoins within the timeout, with no left or joined event", async () => {
    const { server, client, clock, name, alice, bob, watch } = await room();
    const bobWatch = new RoomStream(client, { room: name, session: bob.session, afterSequence: bob.sequence });
    await until(() => server.openRoomStreams() === 2);
    bobWatch.cancel();
    await until(() => server.openRoomStreams() === 1);

    clock.advance(timeoutMs - 1);
    // The seat is still Bob's: the room stays full.
    await expectCode(client.joinRoom({ room: name }), Code.ResourceExhausted);

    const rejoined = await client.joinRoom({ room: name, rejoin: bob.session });
    expect([rejoined.sessionId, rejoined.sessionToken]).toEqual([bob.sessionId, bob.sessionToken]);
    expect(rejoined.room?.members.map((m) => m.displayName)).toEqual(["alice", "bob"]);
    expect(rejoined.sequence).toBe(2n);
    const back = new RoomStream(client, { room: name, session: bob.session, afterSequence: rejoined.sequence });
    await client.sendMessage({ room: name, session: bob.session, toSessionId: alice.sessionId, kind: MessageKind.DATA, body: "back" });
    // What Alice sees next is Bob's message: no left, no second joined.
    const next = await watch.next();
    expect([next.sequence, describeRoomMessage(next)]).toEqual([3n, `DATA ${bob.sessionId}->${alice.sessionId} back`]);

    // An open stream keeps the seat for as long as it is open.
    clock.advance(3 * timeoutMs);
    await client.sendMessage({ room: name, session: alice.session, kind: MessageKind.DATA, body: "still here?" });
    expect(describeRoomMessage(await back.next())).toBe(`DATA ${alice.sessionId}->* still here?`);
    back.cancel();
    watch.cancel();
  });

  it("frees the seat of a member whose stream dropped after the timeout, with exactly one left event", async () => {
    const { server, client, clock, name, bob, watch } = await room();
    const bobWatch = new RoomStream(client, { room: name, session: bob.session, afterSequence: bob.sequence });
    await until(() => server.openRoomStreams() === 2);
    bobWatch.cancel();
    await until(() => server.openRoomStreams() === 1);

    clock.advance(timeoutMs - 1);
    const left = watch.next();
    clock.advance(1);
    const event = await left;
    expect([event.sequence, describeRoomMessage(event)]).toEqual([3n, `left ${bob.sessionId} TIMED_OUT`]);

    await expectCode(client.renewSession({ room: name, session: bob.session }), Code.NotFound);
    await expectCode(client.joinRoom({ room: name, rejoin: bob.session }), Code.NotFound);
    clock.advance(2 * timeoutMs);
    // The freed seat takes a new member; Alice's next event is that arrival, not a second departure.
    await join(client, name, "carol");
    const next = await watch.next();
    expect([next.sequence, describeRoomMessage(next)]).toEqual([4n, "joined carol"]);
    watch.cancel();
  });

  it("keeps the seat of a member for a whole session timeout counted from the moment its stream dropped", async () => {
    const { server, client, clock, name, bob, watch } = await room();
    const bobWatch = new RoomStream(client, { room: name, session: bob.session, afterSequence: bob.sequence });
    await until(() => server.openRoomStreams() === 2);
    // The stream renews every third of the timeout; it drops between two renewals.
    clock.advance(timeoutMs / 3 + 5000);
    bobWatch.cancel();
    await until(() => server.openRoomStreams() === 1);
    await expectSeatKeptUntilTimeout({ client, clock, name, bob, watch });
  });

  it("keeps a member that renews without a stream, and frees its seat once it stops", async () => {
    const { client, clock, name, bob, watch } = await room();
    clock.advance(timeoutMs - 1);
    const renewed = await client.renewSession({ room: name, session: bob.session });
    expect(timestampMs(renewed.expireTime!)).toBe(clock.now() + timeoutMs);
    await expectSeatKeptUntilTimeout({ client, clock, name, bob, watch });
  });

  it("ends a member's stream with NOT_FOUND when its session ends elsewhere", async () => {
    const { client, name, bob, watch } = await room();
    const bobWatch = new RoomStream(client, { room: name, session: bob.session, afterSequence: bob.sequence });
    await client.leaveRoom({ room: name, session: bob.session });
    const error = await bobWatch.end();
    expect(error.code).toBe(Code.NotFound);
    expect(describeRoomMessage(await watch.next())).toBe(`left ${bob.sessionId} LEFT`);
    watch.cancel();
  });

  it("sends a keep-alive carrying the last sequence after the keep-alive interval of silence", async () => {
    const clock = new FakeClock();
    const server = await serve({ limits: { keepAliveIntervalMs: 15_000 } }, { clock });
    const client = roomClient("connect", server.url);
    const name = roomName();
    const alice = await join(client, name, "alice");
    const watch = new RoomStream(client, { room: name, session: alice.session });
    expect((await watch.nextRaw()).event.case).toBe("snapshot");
    await until(() => server.openRoomStreams() === 1);
    clock.advance(15_000);
    const message = await watch.nextRaw();
    expect(message.event.case).toBe("keepAlive");
    expect(message.sequence).toBe(1n);
    watch.cancel();
  });

  it("deletes a room that stays empty for the session timeout", async () => {
    const clock = new FakeClock();
    const server = await serve({ rooms: { sessionTimeoutMs: timeoutMs } }, { clock });
    const client = roomClient("grpc", server.url);
    const name = roomName();
    const alice = await join(client, name, "alice", 5);
    await client.leaveRoom({ room: name, session: alice.session });
    clock.advance(timeoutMs - 1);
    await expectCode(client.joinRoom({ room: name, seats: 3 }), Code.FailedPrecondition);
    clock.advance(1);
    const fresh = await client.joinRoom({ room: name, seats: 3 });
    expect(fresh.room?.seats).toBe(3);
    expect(fresh.sequence).toBe(1n);
  });

  it("ends WatchRoom streams with UNAVAILABLE when the server shuts down", async () => {
    const server = await serve();
    const client = roomClient("grpc", server.url);
    const name = roomName();
    const alice = await join(client, name, "alice");
    const watch = new RoomStream(client, { room: name, session: alice.session });
    await watch.next();
    const stopped = server.shutdown(5000);
    expect((await watch.end()).code).toBe(Code.Unavailable);
    await stopped;
  });
});
