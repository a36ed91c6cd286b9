import { timingSafeEqual } from "node:crypto";
import type { NewMember, RoomMemberState } from "./room.js";
import { RoomStoreError } from "./room-store.js";

/** What the seat rules need to know of a room. */
export interface SeatedRoom {
  readonly name: string;
  readonly seats: number;
  /** Its present members. */
  readonly members: readonly unknown[];
  /** The hash of the secret every join must give; undefined: none. */
  readonly joinSecretHash?: string | undefined;
}

/**
 * The member that `member` becomes by taking a seat in `room` at `now`, the
 * same in every store. Throws `join-secret-mismatch` when the room has a
 * join secret and the join does not give it, `seats-mismatch` when the join
 * names other seats than the room's, `room-full` when every seat is taken.
 */
export function takeSeat(room: SeatedRoom, member: NewMember, now: number, sessionTimeoutMs: number): RoomMemberState {
  if (room.joinSecretHash !== undefined && !sameHash(member.joinSecretHash, room.joinSecretHash)) {
    throw new RoomStoreError("join-secret-mismatch", room.name, `room ${room.name} needs its join secret`);
  }
  if (member.seats !== undefined && member.seats !== room.seats) {
    throw new RoomStoreError("seats-mismatch", room.name, `room ${room.name} has ${room.seats} seats, not ${member.seats}`);
  }
  if (room.members.length >= room.seats) {
    throw new RoomStoreError("room-full", room.name, `all ${room.seats} seats of room ${room.name} are taken`);
  }
  return {
    sessionId: member.sessionId,
    tokenHash: member.tokenHash,
    displayName: member.displayName,
    joinTime: now,
    expireTime: now + sessionTimeoutMs,
  };
}

/** Whether two SHA-256 hashes (base64url) are equal, compared in constant time. */
function sameHash(presented: string | undefined, stored: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented, "base64url");
  const b = Buffer.from(stored, "base64url");
  return a.length === b.length && timingSafeEqual(a, b);
}
