import type { NewMember, RoomMemberState } from "./room.js";
import { RoomStoreError } from "./room-store.js";

/** What the seat rules need to know of a room. */
export interface SeatedRoom {
  readonly name: string;
  readonly seats: number;
  /** Its present members. */
  readonly members: readonly unknown[];
}

/**
 * The member that `member` becomes by taking a seat in `room` at `now`, the
 * same in every store. Throws `seats-mismatch` when the join names other
 * seats than the room's, `room-full` when every seat is taken.
 */
export function takeSeat(room: SeatedRoom, member: NewMember, now: number, sessionTimeoutMs: number): RoomMemberState {
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
