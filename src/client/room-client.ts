import type { Client, Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { RoomService } from "../../gen/signaling/v1/room_pb.js";
import type { ClientOptions } from "./transport.js";
import { transportOf } from "./transport.js";

export type RoomClient = Client<typeof RoomService>;

/** A typed client of RoomService, from options, from a transport of your own, or the client itself. */
export function createRoomClient(options: ClientOptions | Transport | RoomClient): RoomClient {
  return "joinRoom" in options ? options : createClient(RoomService, transportOf(options));
}
