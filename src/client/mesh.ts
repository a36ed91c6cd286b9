import type { IceAccess } from "./ice-servers.js";
import type { MessageSource, PeerLink, PeerOptions } from "./perfect-negotiation.js";
import { connectPeer, isNegotiation } from "./perfect-negotiation.js";
import type { LeaveReasonName, RoomMember, RoomMessage } from "./room-model.js";
import type { RoomSession } from "./room-session.js";

export interface MeshOptions extends PeerOptions {
  /**
   * Builds the peer connection to one other member; add its data channels
   * and tracks here, before returning it. Both sides must agree on the data
   * channels (e.g. `createDataChannel("chat", { negotiated: true, id: 0 })` on each).
   * `iceServers` are those `options.iceServers` gave for this connection (none when it is unset):
   * put them in the configuration, e.g. `new RTCPeerConnection({ iceServers })`.
   */
  readonly createPeerConnection: (member: RoomMember, iceServers: RTCIceServer[]) => RTCPeerConnection;
  /**
   * The STUN/TURN servers for one peer connection, asked for anew for each (TURN credentials expire), with
   * this member's session: e.g. `(access) => fetchIceServers(transport, access)`. What the other member sends
   * meanwhile is held and applied once the connection is built, in order. Default: none (the connection is
   * built at once). When it rejects, the error goes to onError and the connection is built without them.
   */
  readonly iceServers?: (access: IceAccess) => Promise<RTCIceServer[]>;
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
  /** The peers now, by session id (a member appears once its peer connection is built). */
  readonly peers: ReadonlyMap<string, MeshPeer>;
  /** Closes every peer connection and stops connecting to new members. The room session stays. */
  close(): void;
}

/**
 * Signaling messages held per member while its connection's ICE servers are on their way. A peer that sends
 * more than this before its connection is built is misbehaving (a negotiation takes a description and a few
 * dozen candidates); the excess is dropped and reported.
 */
export const maxHeldMessagesPerPeer = 256;

/**
 * Connects to every other member of the room, now and as they join, each
 * through connectPeer (perfect negotiation), and closes the connection to a
 * member when it leaves. Everything closes when the session ends. Call it
 * right after joinRoom() resolves, with no await between them: room
 * messages are not replayed, and another member's offer may already be on
 * its way. Anything to await before a connection is built (ICE servers)
 * goes in `options.iceServers`, during which the mesh holds that member's messages.
 */
export function connectMesh(session: RoomSession, options: MeshOptions): Mesh {
  const report = options.onError ?? ((error: unknown) => console.warn("room mesh:", error));
  const peers = new Map<string, MeshPeer>();
  /** Members whose ICE servers are being fetched, with the signaling messages they sent meanwhile. */
  const pending = new Map<string, RoomMessage[]>();
  const build = (member: RoomMember, iceServers: RTCIceServer[], held: readonly RoomMessage[] = []) => {
    // negotiationneeded fires in a later task, so the link still hears about the channels created just now.
    const pc = options.createPeerConnection(member, iceServers);
    const messages: MessageSource = (listener) => {
      for (const message of held) listener(message);
      return session.onMessage(listener);
    };
    peers.set(member.sessionId, { member, pc, link: connectPeer(session, member.sessionId, pc, options, messages) });
  };
  const add = (member: RoomMember) => {
    const id = member.sessionId;
    if (id === session.sessionId || peers.has(id) || pending.has(id)) return;
    if (!options.iceServers) return build(member, []);
    const held: RoomMessage[] = [];
    pending.set(id, held);
    const access = { room: session.room, session: session.credentials };
    void Promise.resolve()
      .then(() => options.iceServers!(access))
      .catch((error: unknown) => (report(error), []))
      .then((iceServers) => {
        if (pending.get(id) !== held) return; // left, or the mesh closed, meanwhile
        pending.delete(id);
        build(member, iceServers, held);
      });
  };
  const remove = (sessionId: string) => {
    pending.delete(sessionId);
    const peer = peers.get(sessionId);
    if (!peer) return undefined;
    peers.delete(sessionId);
    peer.link.close();
    peer.pc.close();
    return peer;
  };
  const stops = [
    session.onMessage((message) => {
      const held = pending.get(message.from);
      if (!held || !isNegotiation(message)) return;
      if (held.length < maxHeldMessagesPerPeer) held.push(message);
      else report(new Error(`peer ${message.from} sent more than ${maxHeldMessagesPerPeer} messages before its connection was built; dropped one`));
    }),
    session.onJoin(add),
    session.onLeave((member, reason) => {
      const wasPending = pending.has(member.sessionId);
      if (remove(member.sessionId) || wasPending) options.onPeerLeft?.(member, reason);
    }),
  ];
  const close = () => {
    for (const stop of stops) stop();
    pending.clear();
    for (const id of [...peers.keys()]) remove(id);
  };
  void session.ended.then(close);
  for (const member of session.members.values()) add(member);
  return { peers, close };
}
