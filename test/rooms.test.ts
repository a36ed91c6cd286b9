import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { LeaveReason, MessageKind } from "../gen/signaling/v1/room_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { FakeClock } from "./support/fake-clock.js";
import { expectCode } from "./support/fixtures.js";
import { describeRoomMessage, RoomStream } from "./support/room-stream.js";
import type { ConfigOverrides, Protocol } from "./support/test-server.js";
import { protocols, roomClient, startTestServer } from "./support/test-server.js";

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
});

async function serve(overrides: ConfigOverrides = {}, clock?: FakeClock) {
  const server = await startTestServer(overrides, clock ? { clock } : {});
  servers.push(server);
  return server;
}

let nextRoom = 0;
const roomName = () => `room-${nextRoom++}`;

/** Joins and returns what later calls need. */
async function join(client: ReturnType<typeof roomClient>, room: string, displayName: string, seats = 0) {
  const joined = await client.joinRoom({ room, displayName, seats });
  return { ...joined, session: { sessionId: joined.sessionId, sessionToken: joined.sessionToken } };
}

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
