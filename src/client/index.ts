/**
 * Switchboard's browser SDK: wires an RTCPeerConnection to a signaling
 * channel over Connect or gRPC-Web.
 *
 *   const client = createSignalingClient({ baseUrl: "https://signal.example.com" });
 *   const session = await createChannel(client, pc);   // offerer; share session.channelId
 *   const session = await joinChannel(client, pc, id); // answerer
 *
 * Or meet any number of peers in a named room:
 *
 *   const room = await joinRoom({ baseUrl }, "standup", { seats: 4 });
 *   connectMesh(room, { createPeerConnection: () => new RTCPeerConnection() });
 */
import type { Transport } from "@connectrpc/connect";
import type { CreateOptions, SessionOptions } from "./session.js";
import { SignalingSession } from "./session.js";
import type { ClientOptions, SignalingClient } from "./transport.js";
import { createSignalingClient } from "./transport.js";

export type { IceAccess } from "./ice-servers.js";
export { fetchIceServers } from "./ice-servers.js";
export type { CreateOptions, EndReason, Role, SessionEnd, SessionOptions } from "./session.js";
export { SignalingSession } from "./session.js";
export type { Mesh, MeshOptions, MeshPeer } from "./mesh.js";
export { connectMesh } from "./mesh.js";
export type { PeerLink, PeerOptions } from "./perfect-negotiation.js";
export { connectPeer } from "./perfect-negotiation.js";
export type { RoomClient } from "./room-client.js";
export { createRoomClient } from "./room-client.js";
export type { LeaveReasonName, MessageKindName, RoomMember, RoomMessage } from "./room-model.js";
export type { JoinRoomOptions, RoomCredentials, RoomEnd, RoomEndReason } from "./room-session.js";
export { joinRoom, RoomSession } from "./room-session.js";
export type { BrowserProtocol, ClientOptions, SignalingClient } from "./transport.js";
export { createSignalingClient, createSignalingTransport } from "./transport.js";

type ClientLike = SignalingClient | ClientOptions | Transport;

function clientOf(client: ClientLike): SignalingClient {
  return "createChannel" in client ? client : createSignalingClient(client);
}

/** Offerer: a new channel carrying this peer connection's offer; share `session.channelId` with the answerer. */
export function createChannel(client: ClientLike, pc: RTCPeerConnection, options?: CreateOptions): Promise<SignalingSession> {
  return SignalingSession.create(clientOf(client), pc, options);
}

/** Answerer: answers the channel's offer with this peer connection. */
export function joinChannel(client: ClientLike, pc: RTCPeerConnection, channelId: string, options?: SessionOptions): Promise<SignalingSession> {
  return SignalingSession.join(clientOf(client), pc, channelId, options);
}
