import type { PeerLink, PeerOptions } from "./perfect-negotiation.js";
import { connectPeer } from "./perfect-negotiation.js";
import type { LeaveReasonName, RoomMember } from "./room-model.js";
import type { RoomSession } from "./room-session.js";

export interface MeshOptions extends PeerOptions {
  /**
   * Builds the peer connection to one other member; add its data channels
   * and tracks here, before returning it. Both sides must agree on the data
   * channels (e.g. `createDataChannel("chat", { negotiated: true, id: 0 })` on each).
   */
  readonly createPeerConnection: (member: RoomMember) => RTCPeerConnection;
  /** Told after the peer connection to a member that left is closed. */
  readonly onPeerLeft?: (member: RoomMember, reason: LeaveReasonName) => void;
}

export interface MeshPeer {
  readonly member: RoomMember;
  readonly pc: RTCPeerConnection;
  readonly link: PeerLink;
}

/** A peer connection to every other member of a room. */
export interface Mesh {
  /** The peers now, by session id. */
  readonly peers: ReadonlyMap<string, MeshPeer>;
  /** Closes every peer connection and stops connecting to new members. The room session stays. */
  close(): void;
}

/**
 * Connects to every other member of the room, now and as they join, each
 * through connectPeer (perfect negotiation), and closes the connection to a
 * member when it leaves. Everything closes when the session ends. Call it
 * right after joinRoom() resolves, so no member's first message is missed.
 */
export function connectMesh(session: RoomSession, options: MeshOptions): Mesh {
  const peers = new Map<string, MeshPeer>();
  const add = (member: RoomMember) => {
    if (member.sessionId === session.sessionId || peers.has(member.sessionId)) return;
    // negotiationneeded fires in a later task, so the link still hears about the channels created just now.
    const pc = options.createPeerConnection(member);
    peers.set(member.sessionId, { member, pc, link: connectPeer(session, member.sessionId, pc, options) });
  };
  const remove = (sessionId: string) => {
    const peer = peers.get(sessionId);
    if (!peer) return undefined;
    peers.delete(sessionId);
    peer.link.close();
    peer.pc.close();
    return peer;
  };
  const stops = [
    session.onJoin(add),
    session.onLeave((member, reason) => remove(member.sessionId) && options.onPeerLeft?.(member, reason)),
  ];
  const close = () => {
    for (const stop of stops) stop();
    for (const id of [...peers.keys()]) remove(id);
  };
  void session.ended.then(close);
  for (const member of session.members.values()) add(member);
  return { peers, close };
}
