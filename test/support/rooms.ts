import type { Client } from "@connectrpc/connect";
import { afterEach, expect } from "vitest";
import type { RoomService } from "../../gen/signaling/v1/room_pb.js";
import type { RunningServer, ServerOptions } from "../../src/server/app.js";
import type { ConfigOverrides } from "./test-server.js";
import { startTestServer } from "./test-server.js";

/** Starts real servers for a test file and shuts them down after each test. */
export function roomServers() {
  const servers: RunningServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.shutdown(0)));
  });
  return async (overrides: ConfigOverrides = {}, options: ServerOptions = {}): Promise<RunningServer> => {
    const server = await startTestServer(overrides, options);
    servers.push(server);
    return server;
  };
}

let nextRoom = 0;

/** A room name unused by any other test of this process. */
export function roomName(): string {
  return `room-${process.pid}-${nextRoom++}`;
}

/** Joins and returns the response with the credentials later calls need. */
export async function join(client: Client<typeof RoomService>, room: string, displayName: string, seats = 0) {
  const joined = await client.joinRoom({ room, displayName, seats });
  return { ...joined, session: { sessionId: joined.sessionId, sessionToken: joined.sessionToken } };
}

/** Waits (bounded) until the server's side of the streams caught up, e.g. noticed a dropped connection. */
export async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}
