/**
 * The store's model of a room: plain data, shared by every store
 * implementation. Every change to a room is an event with the next sequence
 * number, so a member that reconnects can be given exactly what it missed.
 */

export type MessageKindName = "offer" | "answer" | "ice-candidate" | "data";

export type LeaveReasonName = "left" | "timed-out";

export interface RoomMemberState {
  /** Random UUID; public within the room. */
  readonly sessionId: string;
  /** SHA-256 of the session token; the token itself is never stored. */
  readonly tokenHash: string;
  readonly displayName: string;
  /** Milliseconds since the Unix epoch. */
  readonly joinTime: number;
  /**
   * Milliseconds since the Unix epoch: the seat frees at this instant unless
   * the member renews (a WatchRoom stream renews for it while open).
   */
  readonly expireTime: number;
}

export interface RoomState {
  readonly name: string;
  readonly seats: number;
  /** Current members in join order; a member past its expire time is not among them. */
  readonly members: readonly RoomMemberState[];
  /** The sequence number of the room's last event; 0 for a room without events. */
  readonly sequence: number;
}

export type RoomEvent =
  | { readonly kind: "joined"; readonly sequence: number; readonly member: RoomMemberState }
  | { readonly kind: "left"; readonly sequence: number; readonly sessionId: string; readonly reason: LeaveReasonName }
  | {
      readonly kind: "message";
      readonly sequence: number;
      readonly from: string;
      /** Undefined for a message to every member but its sender. */
      readonly to?: string;
      readonly messageKind: MessageKindName;
      readonly body: string;
      /** Milliseconds since the Unix epoch. */
      readonly sendTime: number;
    };

/** What a store needs to seat a new member. */
export interface NewMember {
  readonly room: string;
  /** Seats of the room if this join creates it; when the room exists, undefined or equal to its seats. */
  readonly seats: number | undefined;
  readonly sessionId: string;
  readonly tokenHash: string;
  readonly displayName: string;
  /**
   * SHA-256 (base64url) of the join secret the caller gave; undefined for none. A join that creates the room
   * sets the room's secret to it; any other join must match the room's.
   */
  readonly joinSecretHash?: string | undefined;
}

/** What a store needs to deliver a message. */
export interface NewMessage {
  readonly room: string;
  readonly from: string;
  /** Undefined for every member but the sender. */
  readonly to: string | undefined;
  readonly messageKind: MessageKindName;
  readonly body: string;
}

/** Bytes an event counts against a room's backlog: a fixed overhead plus the text it carries. */
export function roomEventBytes(event: RoomEvent): number {
  const overhead = 64;
  switch (event.kind) {
    case "joined":
      return overhead + Buffer.byteLength(event.member.displayName, "utf8");
    case "left":
      return overhead;
    case "message":
      return overhead + Buffer.byteLength(event.body, "utf8");
  }
}

/** Whether the member is in the room and present at `now`. */
export function findMember(room: RoomState, sessionId: string, now: number): RoomMemberState | undefined {
  return room.members.find((member) => member.sessionId === sessionId && member.expireTime > now);
}

/** Whether a message event is for `sessionId` (membership events are for everyone). */
export function isFor(event: RoomEvent, sessionId: string): boolean {
  if (event.kind !== "message") return true;
  if (event.from === sessionId) return false;
  return event.to === undefined || event.to === sessionId;
}
