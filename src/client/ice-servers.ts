import type { Transport } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import type { IceServer } from "../../gen/signaling/v1/ice_pb.js";
import { IceService } from "../../gen/signaling/v1/ice_pb.js";
import type { RoomCredentials } from "./room-session.js";
import type { ClientOptions } from "./transport.js";
import { transportOf } from "./transport.js";

/**
 * What the service asks of a caller before it hands out ICE servers (unless run with --ice-require-token off):
 * a channel and one of its tokens, or a room and a member's session (RoomSession.credentials).
 */
export type IceAccess =
  | { readonly channelId: string; readonly token: string }
  | { readonly room: string; readonly session: RoomCredentials };

/**
 * The STUN and TURN servers the service hands out (GetIceServers), shaped as
 * RTCIceServer for `new RTCPeerConnection({ iceServers })`. TURN REST
 * credentials expire: fetch again for a later connection.
 */
export async function fetchIceServers(options: ClientOptions | Transport, access?: IceAccess): Promise<RTCIceServer[]> {
  const { iceServers } = await createClient(IceService, transportOf(options)).getIceServers(access ?? {});
  return toRtcIceServers(iceServers);
}

/** The service's IceServer messages (GetIceServers, CreateChannel, SetAnswer) as RTCIceServer, credentials only where there are some. */
export function toRtcIceServers(iceServers: readonly IceServer[]): RTCIceServer[] {
  return iceServers.map(({ urls, username, credential }) =>
    username === "" && credential === "" ? { urls: [...urls] } : { urls: [...urls], username, credential },
  );
}
