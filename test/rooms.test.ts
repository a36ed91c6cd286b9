import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { LeaveReason, MessageKind } from "../gen/signaling/v1/room_pb.js";
import { expectCode } from "./support/fixtures.js";
import { defaultConfig } from "../src/server/config.js";
import { MemoryRoomStore } from "../src/store/memory/memory-room-store.js";
import { FakeClock } from "./support/fake-clock.js";
import { describeRoomMessage, RoomStream } from "./support/room-stream.js";
import { join, roomName, roomServers } from "./support/rooms.js";
import type { Protocol } from "./support/test-server.js";
import { protocols, roomClient } from "./support/test-server.js";

const serve = roomServers();

describe.each(protocols.map((p) => [p]))("RoomService over %s", (protocol: Protocol) => {
  it("joins, shows members and their arrival, delivers targeted and broadcast messages, and shows a departure", async () => {
    const server = await serve();
    const client = roomClient(protocol, server.url);
    const room = roomName();
    const alice = await join(client, room, "alice", 3);
    expect(alice.room?.seats).toBe(3);
    expect(alice.room?.members.map((m) => m.displayName)).toEqual(["alice"]);
    expect(alice.sequence).toBe(1n);
    expect(alice.sessionTimeout?.seconds).toBe(30n);

    const aliceStream = new RoomStream(client, { room, session: alice.session });
    const snapshot = await aliceStream.next();
    expect(describeRoomMessage(snapshot)).toBe("snapshot alice");
    expect(snapshot.sequence).toBe(1n);

    const bob = await join(client, room, "bob");
    expect(bob.room?.members.map((m) => m.displayName)).toEqual(["alice", "bob"]);
    expect(bob.sessionId).not.toBe(alice.sessionId);
    const joined = await aliceStream.next();
    expect(describeRoomMessage(joined)).toBe("joined bob");
    expect(joined.sequence).toBe(2n);
    expect(joined.event.case === "memberJoined" && joined.event.value.member?.sessionId).toBe(bob.sessionId);

    const bobStream = new RoomStream(client, { room, session: bob.session, afterSequence: bob.sequence });
    const sent = await client.sendMessage({ room, session: bob.session, toSessionId: alice.sessionId, kind: MessageKind.OFFER, body: "v=0" });
    expect(sent).toMatchObject({ sequence: 3n, recipients: 1 });
    expect(describeRoomMessage(await aliceStream.next())).toBe(`OFFER ${bob.sessionId}->${alice.sessionId} v=0`);

    const broadcast = await client.sendMessage({ room, session: alice.session, kind: MessageKind.DATA, body: "hello all" });
    expect(broadcast).toMatchObject({ sequence: 4n, recipients: 1 });
    // Bob's stream never shows his own message, only Alice's broadcast.
    expect(describeRoomMessage(await bobStream.next())).toBe(`DATA ${alice.sessionId}->* hello all`);

    const got = await client.getRoom({ room, session: bob.session });
    expect(got.room?.members.map((m) => m.sessionId)).toEqual([alice.sessionId, bob.sessionId]);
    expect(got.sequence).toBe(4n);

    await client.leaveRoom({ room, session: bob.session });
    const left = await aliceStream.next();
    expect(left.event).toMatchObject({ case: "memberLeft", value: { sessionId: bob.sessionId, reason: LeaveReason.LEFT } });
    expect(left.sequence).toBe(5n);
    expect((await bobStream.end()).code).toBe(Code.NotFound);
    await expectCode(client.getRoom({ room, session: bob.session }), Code.NotFound);
    aliceStream.cancel();
  });

  it("refuses a wrong session token with PERMISSION_DENIED and a missing one with UNAUTHENTICATED", async () => {
    const server = await serve();
    const client = roomClient(protocol, server.url);
    const room = roomName();
    const alice = await join(client, room, "alice");
    const bob = await join(client, room, "bob");
    // Bob's token with Alice's session: one peer cannot act as another.
    const forged = { sessionId: alice.sessionId, sessionToken: bob.sessionToken };
    await expectCode(client.sendMessage({ room, session: forged, kind: MessageKind.DATA, body: "x" }), Code.PermissionDenied);
    await expectCode(client.getRoom({ room, session: { sessionId: alice.sessionId, sessionToken: "A".repeat(43) } }), Code.PermissionDenied);
    await expectCode(client.leaveRoom({ room, session: { sessionId: alice.sessionId, sessionToken: "" } }), Code.Unauthenticated);
    await expectCode(client.getRoom({ room }), Code.Unauthenticated);
    expect((await client.getRoom({ room, session: alice.session })).room?.members).toHaveLength(2);
  });
});

describe("RoomService seats", () => {
  it("never seats more members than seats under 20 concurrent joins, and refuses the rest with RESOURCE_EXHAUSTED", async () => {
    const server = await serve();
    const clients = protocols.map((p) => roomClient(p, server.url));
    const room = roomName();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => clients[i % clients.length]!.joinRoom({ room, seats: 4, displayName: `p${i}` })),
    );
    const seated = results.filter((r) => r.status === "fulfilled");
    expect(seated).toHaveLength(4);
    for (const r of results) {
      if (r.status === "rejected") {
        const error = await expectCode(Promise.reject(r.reason), Code.ResourceExhausted);
        expect(error.rawMessage).toContain("room-max-seats");
      }
    }
    const first = (seated[0] as PromiseFulfilledResult<Awaited<ReturnType<(typeof clients)[0]["joinRoom"]>>>).value;
    const got = await clients[0]!.getRoom({ room, session: { sessionId: first.sessionId, sessionToken: first.sessionToken } });
    expect(got.room?.members).toHaveLength(4);
    expect(new Set(got.room?.members.map((m) => m.sessionId)).size).toBe(4);
  });

  it("frees a seat when a member leaves", async () => {
    const client = roomClient("grpc", (await serve()).url);
    const room = roomName();
    const alice = await join(client, room, "alice");
    await join(client, room, "bob");
    await expectCode(client.joinRoom({ room }), Code.ResourceExhausted);
    await client.leaveRoom({ room, session: alice.session });
    expect((await join(client, room, "carol")).room?.members.map((m) => m.displayName)).toEqual(["bob", "carol"]);
  });
});

describe("RoomService delivery", () => {
  it("delivers a targeted message to its recipient only, and a broadcast to every other member", async () => {
    const client = roomClient("grpc", (await serve()).url);
    const room = roomName();
    const [alice, bob, carol] = [await join(client, room, "alice", 3), await join(client, room, "bob"), await join(client, room, "carol")];
    const streams = [alice, bob, carol].map((m) => new RoomStream(client, { room, session: m.session, afterSequence: 3n }));
    const send = (from: typeof alice, to: string, body: string) =>
      client.sendMessage({ room, session: from.session, toSessionId: to, kind: MessageKind.DATA, body });
    expect((await send(alice, carol.sessionId, "to carol")).recipients).toBe(1);
    expect((await send(bob, "", "to all from bob")).recipients).toBe(2);
    expect((await send(carol, alice.sessionId, "to alice")).recipients).toBe(1);
    const [a, b, c] = streams;
    expect([describeRoomMessage(await a!.next()), describeRoomMessage(await a!.next())]).toEqual([
      `DATA ${bob.sessionId}->* to all from bob`,
      `DATA ${carol.sessionId}->${alice.sessionId} to alice`,
    ]);
    expect(describeRoomMessage(await c!.next())).toBe(`DATA ${alice.sessionId}->${carol.sessionId} to carol`);
    expect(describeRoomMessage(await c!.next())).toBe(`DATA ${bob.sessionId}->* to all from bob`);
    // Neither the message to Carol nor the one to Alice reached Bob: his next message is a later broadcast.
    await send(alice, "", "last");
    expect(describeRoomMessage(await b!.next())).toBe(`DATA ${alice.sessionId}->* last`);
    for (const s of streams) s.cancel();
  });

  it("keeps the order of one sender's messages", async () => {
    const client = roomClient("connect", (await serve()).url);
    const room = roomName();
    const alice = await join(client, room, "alice");
    const bob = await join(client, room, "bob");
    const stream = new RoomStream(client, { room, session: bob.session, afterSequence: bob.sequence });
    for (let i = 0; i < 20; i++) {
      await client.sendMessage({ room, session: alice.session, toSessionId: bob.sessionId, kind: MessageKind.ICE_CANDIDATE, body: `c${i}` });
    }
    const bodies: string[] = [];
    for (let i = 0; i < 20; i++) {
      const m = await stream.next();
      bodies.push(m.event.case === "message" ? m.event.value.body : "?");
    }
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`));
    stream.cancel();
  });

  it("refuses a message to a member that left with NOT_FOUND", async () => {
    const client = roomClient("grpc", (await serve()).url);
    const room = roomName();
    const alice = await join(client, room, "alice");
    const bob = await join(client, room, "bob");
    await client.leaveRoom({ room, session: bob.session });
    const error = await expectCode(
      client.sendMessage({ room, session: alice.session, toSessionId: bob.sessionId, kind: MessageKind.OFFER, body: "v=0" }),
      Code.NotFound,
    );
    expect(error.rawMessage).toContain("to_session_id is not a member");
    // A stranger's well-formed session id is just as absent.
    await expectCode(
      client.sendMessage({ room, session: alice.session, toSessionId: "5f0c6a8e-2b1d-4c3e-9a7f-1e2d3c4b5a69", kind: MessageKind.OFFER, body: "v=0" }),
      Code.NotFound,
    );
  });

  it("resumes a stream after a drop with every event it missed, once, in order", async () => {
    const client = roomClient("grpc", (await serve()).url);
    const room = roomName();
    const alice = await join(client, room, "alice", 3);
    const bob = await join(client, room, "bob");
    const first = new RoomStream(client, { room, session: alice.session });
    const seen = (await first.next()).sequence;
    first.cancel();
    await client.sendMessage({ room, session: bob.session, toSessionId: alice.sessionId, kind: MessageKind.OFFER, body: "o" });
    await join(client, room, "carol");
    await client.sendMessage({ room, session: bob.session, kind: MessageKind.DATA, body: "all" });
    const resumed = new RoomStream(client, { room, session: alice.session, afterSequence: seen });
    const got = [await resumed.next(), await resumed.next(), await resumed.next()];
    expect(got.map((m) => m.sequence)).toEqual([3n, 4n, 5n]);
    expect(got.map(describeRoomMessage)).toEqual([`OFFER ${bob.sessionId}->${alice.sessionId} o`, "joined carol", `DATA ${bob.sessionId}->* all`]);
    await client.sendMessage({ room, session: bob.session, kind: MessageKind.DATA, body: "after" });
    const next = await resumed.next();
    expect([next.sequence, describeRoomMessage(next)]).toEqual([6n, `DATA ${bob.sessionId}->* after`]);
    resumed.cancel();
  });
  it("neither loses nor doubles an event that lands while a resumed stream starts", async () => {
    // A store whose read is overtaken by a write, as between two instances.
    let racer: (() => Promise<unknown>) | undefined;
    class RacingStore extends MemoryRoomStore {
      override async eventsSince(room: string, sequence: number) {
        const writeDuringRead = racer;
        racer = undefined;
        if (writeDuringRead) await writeDuringRead();
        return super.eventsSince(room, sequence);
      }
    }
    const clock = new FakeClock();
    const roomStore = new RacingStore(clock, defaultConfig().rooms);
    const client = roomClient("grpc", (await serve({}, { clock, roomStore })).url);
    const room = roomName();
    const alice = await join(client, room, "alice");
    const bob = await join(client, room, "bob");
    const say = (body: string) => client.sendMessage({ room, session: alice.session, toSessionId: bob.sessionId, kind: MessageKind.DATA, body });
    racer = () => say("during");
    const stream = new RoomStream(client, { room, session: bob.session, afterSequence: bob.sequence });
    const first = await stream.next();
    expect([first.sequence, describeRoomMessage(first)]).toEqual([3n, `DATA ${alice.sessionId}->${bob.sessionId} during`]);
    await say("after");
    const second = await stream.next();
    expect([second.sequence, describeRoomMessage(second)]).toEqual([4n, `DATA ${alice.sessionId}->${bob.sessionId} after`]);
    stream.cancel();
  });
});

describe("RoomService access", () => {
  it("refuses a token of room A used on room B with PERMISSION_DENIED, and a member of A is no member of B", async () => {
    const client = roomClient("grpc", (await serve()).url);
    const [roomA, roomB] = [roomName(), roomName()];
    const mallory = await join(client, roomA, "mallory");
    const bob = await join(client, roomB, "bob");
    const carol = await join(client, roomB, "carol");
    // Mallory names Bob's session (public within B) with her own token from A.
    const asBob = { sessionId: bob.sessionId, sessionToken: mallory.sessionToken };
    await expectCode(client.getRoom({ room: roomB, session: asBob }), Code.PermissionDenied);
    await expectCode(client.sendMessage({ room: roomB, session: asBob, toSessionId: carol.sessionId, kind: MessageKind.DATA, body: "x" }), Code.PermissionDenied);
    await expectCode(client.leaveRoom({ room: roomB, session: asBob }), Code.PermissionDenied);
    await expectCode(new RoomStream(client, { room: roomB, session: asBob }).next(), Code.PermissionDenied);
    await expectCode(client.joinRoom({ room: roomB, rejoin: asBob }), Code.PermissionDenied);
    // Her own session of A is not a member of B: she reads nothing of B.
    const own = await expectCode(client.getRoom({ room: roomB, session: mallory.session }), Code.NotFound);
    expect(own.rawMessage).toContain("join again");
    expect((await client.getRoom({ room: roomB, session: bob.session })).room?.members.map((m) => m.displayName)).toEqual(["bob", "carol"]);
  });

  it("issues random UUID session ids and 256-bit tokens, and keeps only the token's SHA-256 hash", async () => {
    const server = await serve();
    const client = roomClient("grpc", server.url);
    const room = roomName();
    const alice = await join(client, room, "alice");
    expect(alice.sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Buffer.from(alice.sessionToken, "base64url")).toHaveLength(32);
    const stored = (await server.roomStore.getRoom(room))!.members[0]!;
    expect(stored.tokenHash).toBe(createHash("sha256").update(alice.sessionToken).digest("base64url"));
    expect(JSON.stringify(await server.roomStore.eventsSince(room, 0))).not.toContain(alice.sessionToken);
  });

  it("refuses every call of a session that left with NOT_FOUND", async () => {
    const client = roomClient("connect", (await serve()).url);
    const room = roomName();
    await join(client, room, "alice");
    const bob = await join(client, room, "bob");
    await client.leaveRoom({ room, session: bob.session });
    await expectCode(client.leaveRoom({ room, session: bob.session }), Code.NotFound);
    await expectCode(client.renewSession({ room, session: bob.session }), Code.NotFound);
    await expectCode(client.sendMessage({ room, session: bob.session, kind: MessageKind.DATA, body: "x" }), Code.NotFound);
    await expectCode(client.joinRoom({ room, rejoin: bob.session }), Code.NotFound);
    await expectCode(new RoomStream(client, { room, session: bob.session }).next(), Code.NotFound);
  });
});
