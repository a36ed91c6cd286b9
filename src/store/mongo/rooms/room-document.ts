import type { RoomEvent, RoomMemberState, RoomState } from "../../room.js";
import type { DraftContext } from "../../room-rules.js";
import { RoomDraft, roomState } from "../../room-rules.js";

/**
 * One room as stored in MongoDB (collection `rooms` unless configured).
 *
 * Every write is a compare-and-set on `revision` (plus `epoch`): the writer
 * read the document, computed the new members and events, and the update
 * applies only if nobody wrote in between; otherwise it reads again. So
 * seats, sequence numbers and timed-out members are decided once, whatever
 * the number of processes. (On FerretDB, whose updates are not atomic, a
 * lease lock per room serialises the writers as well; see write-lock.ts.)
 *
 * Events live in their own collection (`rooms.events`), one document each,
 * because a room's backlog of 64 KiB messages would not fit MongoDB's 16 MiB
 * document limit. The write that allocates a sequence number puts its event
 * into `pending` (an outbox) in the same atomic update. The NEXT write of
 * the room first copies the events it found in `pending` into the events
 * collection, then removes them in its own update. Every allocated sequence
 * is thus always in `pending` or in the events collection (or trimmed),
 * never in neither: a reader that reads the room document first and the
 * events collection second misses nothing, whatever the writers are doing,
 * and a writer that dies at any point leaves nothing half done. `pending`
 * holds only the events of the last write or so, whatever the backlog.
 */
export interface RoomDocument {
  /** The room's name. */
  _id: string;
  /**
   * A random id per incarnation of the room: a room deleted and created
   * again starts at sequence 1 with a new epoch, so its events never clash
   * with the old ones (the database deletes those late).
   */
  epoch: string;
  seats: number;
  /** SHA-256 (base64url) of the secret every join must give; absent: none. Set by the join that creates the room. */
  joinSecretHash?: string;
  /** Members in join order; a member past its expire time waits here for a writer to time it out. */
  members: RoomMemberState[];
  /** The sequence number of the room's last event. */
  sequence: number;
  /** One more on every write; the compare-and-set token. */
  revision: number;
  /** The fencing token of the last lease-lock holder that wrote it (FerretDB; see write-lock.ts). */
  fence?: number;
  /** Events not yet copied into the events collection, by pendingKey(sequence). */
  pending: Record<string, RoomEventDocument>;
  /** Bytes of all events ever appended to this incarnation, each counted by roomEventBytes. */
  appendedBytes: number;
  /**
   * Events whose startOffset is below this are trimmed: exactly those after
   * which the backlog holds more than maxBacklogBytes (room-rules.ts); the
   * stored ones are deleted in batches of an eighth of the limit.
   */
  backlogFrom: number;
  /** The earliest expire time of a member (ms since the epoch), null without members: what the reaper queries. */
  nextExpireAt: number | null;
  /**
   * The room is gone from this instant (the TTL index or the sweeper deletes
   * it later): the session timeout after the last member's seat frees.
   */
  expireAt: Date;
}

/** One event of a room (collection `rooms.events` unless configured). */
export interface RoomEventDocument {
  /** eventId(epoch, sequence): a second copy of the same event is refused. */
  _id: string;
  epoch: string;
  sequence: number;
  event: RoomEvent;
  /** appendedBytes of the room before this event; see RoomDocument.backlogFrom. */
  startOffset: number;
  /** Kept for the session timeout after it was appended. */
  expireAt: Date;
}

export const eventId = (epoch: string, sequence: number): string => `${epoch}:${sequence}`;

/** Field names in `pending`: not numeric, so a dotted path `pending.<key>` never reads as an array index. */
export const pendingKey = (sequence: number): string => `s${sequence}`;

/** Whether the room no longer exists at `now` (whatever the database still holds). */
export function isGone(doc: RoomDocument, now: number): boolean {
  return doc.expireAt.getTime() <= now;
}

export function toRoomState(doc: Pick<RoomDocument, "_id" | "seats" | "members" | "sequence">, now: number): RoomState {
  return roomState(doc._id, doc.seats, doc.members, doc.sequence, now);
}

/** The fields a write sets on the room document (besides `revision`). */
export type RoomFields = Pick<RoomDocument, "members" | "sequence" | "appendedBytes" | "backlogFrom" | "nextExpireAt" | "expireAt">;

export function roomFields(draft: RoomDraft): RoomFields {
  const { expireAt, members, ...rest } = draft.result();
  return { ...rest, members: [...members], expireAt: new Date(expireAt) };
}

/** The draft's events as stored, keyed as in the document's `pending`; each is kept for the session timeout. */
export function pendingEvents(draft: RoomDraft, epoch: string, keepUntil: Date): Record<string, RoomEventDocument> {
  return Object.fromEntries(
    draft.events.map(({ event, startOffset }) => [
      pendingKey(event.sequence),
      { _id: eventId(epoch, event.sequence), epoch, sequence: event.sequence, event, startOffset, expireAt: keepUntil },
    ]),
  );
}

/** The whole document of a room a draft creates. */
export function newRoomDocument(draft: RoomDraft, epoch: string, keepUntil: Date): RoomDocument {
  const secret = draft.joinSecretHash === undefined ? {} : { joinSecretHash: draft.joinSecretHash };
  return { _id: draft.name, epoch, seats: draft.seats, ...secret, revision: 1, pending: pendingEvents(draft, epoch, keepUntil), ...roomFields(draft) };
}

/** A draft of the stored room: its expired members timed out. */
export function openDraft(doc: RoomDocument, context: DraftContext): RoomDraft {
  return RoomDraft.open(doc._id, doc.seats, doc, doc.expireAt.getTime(), context, doc.joinSecretHash);
}
