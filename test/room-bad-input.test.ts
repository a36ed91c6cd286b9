import type { Client } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoomService } from "../gen/signaling/v1/room_pb.js";
import { MessageKind } from "../gen/signaling/v1/room_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { expectCode } from "./support/fixtures.js";
import { RoomStream } from "./support/room-stream.js";
import { join, roomName, roomServers } from "./support/rooms.js";
import { roomClient, startTestServer } from "./support/test-server.js";

let server: RunningServer;
let client: Client<typeof RoomService>;
beforeAll(async () => {
  server = await startTestServer({
    rooms: { maxSeats: 4, maxMessageBytes: 1000 },
  });
  client = roomClient("connect", server.url);
});
afterAll(() => server.shutdown(0));

/** Two members of a room of two seats. */
async function pair() {
  const room = roomName();
  const alice = await join(client, room, "alice");
  const bob = await join(client, room, "bob");
  return { room, alice, bob };
}
type Pair = Awaited<ReturnType<typeof pair>>;

const unknownId = "6f1c1e8e-2f7e-4a53-9f43-5c2b1c7f0a11";
const send = (p: Pair, fields: { toSessionId?: string; kind?: MessageKind; body?: string }) =>
  client.sendMessage({ room: p.room, session: p.alice.session, kind: MessageKind.DATA, body: "x", ...fields });

const cases: [string, Code, string, (p: Pair) => Promise<unknown>][] = [
  ["an empty room name", Code.InvalidArgument, "room: is required", () => client.joinRoom({ room: "" })],
  ["a room name with a space", Code.InvalidArgument, "room: must be", () => client.joinRoom({ room: "my room" })],
  ["a room name with a slash", Code.InvalidArgument, "room: must be", () => client.joinRoom({ room: "a/b" })],
  ["a room name of 129 characters", Code.InvalidArgument, "room: must be 1 to 128", () => client.joinRoom({ room: "r".repeat(129) })],
  ["a non-ASCII room name", Code.InvalidArgument, "room: must be", () => client.joinRoom({ room: "caf\u00e9" })],
  ["more seats than room-max-seats", Code.InvalidArgument, "room-max-seats", () => client.joinRoom({ room: roomName(), seats: 5 })],
  ["a display name over 64 bytes", Code.InvalidArgument, "display_name: is 66 bytes", () => client.joinRoom({ room: roomName(), displayName: "\u00e9".repeat(33) })],
  ["seats that differ from the room's", Code.FailedPrecondition, "different number of seats", (p) => client.joinRoom({ room: p.room, seats: 3 })],
  ["a join of a full room", Code.ResourceExhausted, "every seat of room", (p) => client.joinRoom({ room: p.room })],
  ["a rejoin without a token", Code.Unauthenticated, "session_token is required", (p) => client.joinRoom({ room: p.room, rejoin: { sessionId: p.alice.sessionId } })],
  ["a rejoin of an unknown session", Code.NotFound, "not a member", (p) => client.joinRoom({ room: p.room, rejoin: { sessionId: unknownId, sessionToken: p.alice.sessionToken } })],
  ["a rejoin of a room that does not exist", Code.NotFound, "not found", (p) => client.joinRoom({ room: roomName(), rejoin: p.alice.session })],
  ["a malformed session id", Code.InvalidArgument, "session.session_id: must be", (p) => client.getRoom({ room: p.room, session: { sessionId: "alice", sessionToken: p.alice.sessionToken } })],
  ["an empty session id", Code.InvalidArgument, "session.session_id: is required", (p) => client.getRoom({ room: p.room, session: { sessionToken: p.alice.sessionToken } })],
  ["a malformed token", Code.PermissionDenied, "does not belong", (p) => client.getRoom({ room: p.room, session: { sessionId: p.alice.sessionId, sessionToken: "x" } })],
  ["a call on a malformed room name", Code.InvalidArgument, "room: must be", (p) => client.getRoom({ room: "no room", session: p.alice.session })],
  ["a message without a kind", Code.InvalidArgument, "kind: must be one of MESSAGE_KIND_OFFER", (p) => send(p, { kind: MessageKind.UNSPECIFIED })],
  ["a message of an unknown kind", Code.InvalidArgument, "kind: must be one of", (p) => send(p, { kind: 9 as MessageKind })],
  ["a body over room-max-message-bytes", Code.InvalidArgument, "body: is 1001 bytes; at most 1000 are accepted (room-max-message-bytes)", (p) => send(p, { body: "b".repeat(1001) })],
  ["a recipient that is not a session id", Code.InvalidArgument, "to_session_id: must be a session id", (p) => send(p, { toSessionId: "bob" })],
  ["a message to oneself", Code.InvalidArgument, "to_session_id: must not be the sender's own session", (p) => send(p, { toSessionId: p.alice.sessionId })],
  ["a message to a session not in the room", Code.NotFound, "to_session_id is not a member", (p) => send(p, { toSessionId: unknownId })],
  ["a resume from a sequence the room has not reached", Code.InvalidArgument, "after_sequence", (p) => new RoomStream(client, { room: p.room, session: p.alice.session, afterSequence: 99n }).next()],
];

describe("RoomService bad input", () => {
  it.each(cases.map(([name, code, message, call]) => [name, Code[code], code, message, call] as const))("refuses %s with %s", async (_name, _codeName, code, message, call) => {
    const p = await pair();
    const error = await expectCode(call(p), code);
    expect(error.rawMessage).toContain(message);
    // Nothing changed: the room has its two members and its two joined events.
    const got = await client.getRoom({ room: p.room, session: p.bob.session });
    expect(got.room?.members.map((m) => m.displayName)).toEqual(["alice", "bob"]);
    expect(got.sequence).toBe(2n);
  });
});

describe("RoomService limits", () => {
  const serve = roomServers();

  it("refuses a room past max-rooms with RESOURCE_EXHAUSTED naming the setting", async () => {
    const c = roomClient("grpc", (await serve({ rooms: { maxRooms: 2 } })).url);
    await c.joinRoom({ room: roomName() });
    await c.joinRoom({ room: roomName() });
    const error = await expectCode(c.joinRoom({ room: roomName() }), Code.ResourceExhausted);
    expect(error.rawMessage).toContain("max-rooms");
  });

  it("refuses a second WatchRoom stream of one session past room-max-watchers-per-session", async () => {
    const c = roomClient("grpc", (await serve({ rooms: { maxWatchersPerSession: 1 } })).url);
    const room = roomName();
    const alice = await join(c, room, "alice");
    const first = new RoomStream(c, { room, session: alice.session });
    await first.next();
    const error = await expectCode(new RoomStream(c, { room, session: alice.session }).next(), Code.ResourceExhausted);
    expect(error.rawMessage).toContain("room-max-watchers-per-session");
    first.cancel();
  });

  it("refuses a resume from events trimmed past room-max-backlog-bytes with FAILED_PRECONDITION", async () => {
    const c = roomClient("grpc", (await serve({ rooms: { maxMessageBytes: 1000, maxBacklogBytes: 2000 } })).url);
    const room = roomName();
    const alice = await join(c, room, "alice");
    const bob = await join(c, room, "bob");
    for (let i = 0; i < 4; i++) {
      await c.sendMessage({ room, session: alice.session, toSessionId: bob.sessionId, kind: MessageKind.DATA, body: "m".repeat(1000) });
    }
    const error = await expectCode(new RoomStream(c, { room, session: bob.session, afterSequence: 2n }).next(), Code.FailedPrecondition);
    expect(error.rawMessage).toContain("room-max-backlog-bytes");
    // A fresh snapshot still works.
    const snapshot = await new RoomStream(c, { room, session: bob.session }).next();
    expect(snapshot.sequence).toBe(6n);
  });
});
