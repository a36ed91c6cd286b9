import type { NewMember, NewMessage, RoomEvent, RoomMemberState, RoomState } from "./room.js";
import { findMember, isFor, roomEventBytes } from "./room.js";
import { RoomStoreError } from "./room-store.js";
import { takeSeat } from "./room-seats.js";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What the rules need besides the room: the time of the change and the limits. */
export interface DraftContext {
  readonly now: number;
  readonly sessionTimeoutMs: number;
  readonly maxBacklogBytes: number;
}

/** A room's state as every store keeps it, whatever holds it. */
export interface RoomRecordState {
  readonly members: readonly RoomMemberState[];
  /** The sequence number of the room's last event. */
  readonly sequence: number;
  /** Bytes of all events ever appended to this room, each counted by roomEventBytes. */
  readonly appendedBytes: number;
  /**
   * Events whose startOffset is below this are trimmed: exactly those after
   * which the backlog holds more than maxBacklogBytes, oldest first.
   */
  readonly backlogFrom: number;
}

/** An event with its place in the byte stream of the room's events. */
export interface AppendedEvent {
  readonly event: RoomEvent;
  /** appendedBytes of the room before this event. */
  readonly startOffset: number;
}

/** The room after a draft: what a store writes. Times are ms since the epoch. */
export interface DraftResult extends RoomRecordState {
  /** The earliest expire time of a member; null without members. */
  readonly nextExpireAt: number | null;
  /** The room is gone from this instant: the session timeout after the last member's seat frees. */
  readonly expireAt: number;
}

/** Whether an event is still kept in a room whose backlog starts at `backlogFrom`. */
export const isKept = (event: AppendedEvent, backlogFrom: number): boolean => event.startOffset >= backlogFrom;

/**
 * A room being changed, in memory: the rules of seats, joins, presence,
 * messages, leaving, timeouts and the backlog, written once for every
 * store. A draft opened from a room first times out its expired members
 * (one `left` event each); the memory store applies the result to its map,
 * the MongoDB store writes it back with a compare-and-set, so those events
 * are appended once however many processes try.
 */
export class RoomDraft {
  /** Events appended by this draft, in order. */
  readonly events: AppendedEvent[] = [];
  private members: RoomMemberState[];
  private sequence: number;
  private appendedBytes: number;
  private backlogFrom: number;
  private readonly firstBacklogFrom: number;
  /** When the room last lost its last member in this draft. */
  private emptySince: number | undefined;
  private touched = false;

  private constructor(
    readonly name: string,
    readonly seats: number,
    from: RoomRecordState,
    private readonly previousExpireAt: number,
    private readonly context: DraftContext,
    /** The hash of the secret every join must give, set by the join that created the room; undefined: none. */
    readonly joinSecretHash: string | undefined,
  ) {
    this.members = [...from.members];
    this.sequence = from.sequence;
    this.appendedBytes = from.appendedBytes;
    this.backlogFrom = from.backlogFrom;
    this.firstBacklogFrom = from.backlogFrom;
  }

  /** The stored room, with every member past its expire time timed out. */
  static open(name: string, seats: number, from: RoomRecordState, expireAt: number, context: DraftContext, joinSecretHash?: string): RoomDraft {
    const draft = new RoomDraft(name, seats, from, expireAt, context, joinSecretHash);
    draft.timeOutExpired();
    return draft;
  }

  /** A room that does not exist yet; only a join makes it worth writing. */
  static create(name: string, seats: number, context: DraftContext, joinSecretHash?: string): RoomDraft {
    const empty = { members: [], sequence: 0, appendedBytes: 0, backlogFrom: 0 };
    return new RoomDraft(name, seats, empty, context.now, context, joinSecretHash);
  }

  /** Whether there is anything to write. */
  get changed(): boolean {
    return this.touched;
  }

  /**
   * Where the backlog trimmed up to, when this draft crossed a step of an
   * eighth of the limit since it was opened: a store deleting trimmed events
   * does so in batches, not one per message. Undefined otherwise.
   */
  get trimBelow(): number | undefined {
    const step = Math.max(1, Math.floor(this.context.maxBacklogBytes / 8));
    return Math.floor(this.backlogFrom / step) > Math.floor(this.firstBacklogFrom / step) ? this.backlogFrom : undefined;
  }

  join(member: NewMember): void {
    const room = { name: this.name, seats: this.seats, members: this.members, joinSecretHash: this.joinSecretHash };
    const joined = takeSeat(room, member, this.context.now, this.context.sessionTimeoutMs);
    this.members.push(joined);
    this.append({ kind: "joined", member: joined });
  }

  renew(sessionId: string): void {
    const index = this.indexOf(sessionId);
    this.members[index] = { ...this.members[index]!, expireTime: this.context.now + this.context.sessionTimeoutMs };
    this.touched = true;
  }

  leave(sessionId: string): void {
    this.remove(this.indexOf(sessionId), "left", this.context.now);
  }

  send(message: NewMessage): { readonly sequence: number; readonly recipients: number } {
    this.indexOf(message.from);
    if (message.to !== undefined && !findMember(this.state(), message.to, this.context.now)) {
      throw new RoomStoreError("recipient-not-found", this.name, `session ${message.to} is not a member of room ${this.name}`);
    }
    const event = {
      kind: "message",
      from: message.from,
      ...(message.to !== undefined && { to: message.to }),
      messageKind: message.messageKind,
      body: message.body,
      sendTime: this.context.now,
    } as const;
    const sequence = this.append(event);
    const recipients = this.members.filter((member) => isFor({ ...event, sequence }, member.sessionId)).length;
    return { sequence, recipients };
  }

  state(): RoomState {
    return roomState(this.name, this.seats, this.members, this.sequence, this.context.now);
  }

  result(): DraftResult {
    const timeout = this.context.sessionTimeoutMs;
    const expireTimes = this.members.map((member) => member.expireTime);
    let expireAt: number;
    if (expireTimes.length > 0) expireAt = Math.max(...expireTimes) + timeout;
    else if (this.emptySince !== undefined) expireAt = this.emptySince + timeout;
    else expireAt = this.previousExpireAt;
    return {
      members: this.members,
      sequence: this.sequence,
      appendedBytes: this.appendedBytes,
      backlogFrom: this.backlogFrom,
      nextExpireAt: expireTimes.length > 0 ? Math.min(...expireTimes) : null,
      expireAt,
    };
  }

  private timeOutExpired(): void {
    for (let i = 0; i < this.members.length; ) {
      const member = this.members[i]!;
      if (member.expireTime <= this.context.now) this.remove(i, "timed-out", member.expireTime);
      else i++;
    }
  }

  private indexOf(sessionId: string): number {
    const index = this.members.findIndex((member) => member.sessionId === sessionId);
    if (index < 0) throw new RoomStoreError("session-not-found", this.name, `session ${sessionId} is not a member of room ${this.name}`);
    return index;
  }

  private remove(index: number, reason: "left" | "timed-out", at: number): void {
    const [member] = this.members.splice(index, 1);
    this.append({ kind: "left", sessionId: member!.sessionId, reason });
    if (this.members.length === 0) this.emptySince = Math.max(this.emptySince ?? at, at);
  }

  /** Appends an event; the backlog then keeps exactly the newest events that fit maxBacklogBytes. */
  private append(init: DistributiveOmit<RoomEvent, "sequence">): number {
    const sequence = ++this.sequence;
    const event = { ...init, sequence } as RoomEvent;
    this.events.push({ event, startOffset: this.appendedBytes });
    this.appendedBytes += roomEventBytes(event);
    this.backlogFrom = Math.max(this.backlogFrom, this.appendedBytes - this.context.maxBacklogBytes);
    this.touched = true;
    return sequence;
  }
}

/** A room as a store hands it out: its present members only. */
export function roomState(name: string, seats: number, members: readonly RoomMemberState[], sequence: number, now: number): RoomState {
  return { name, seats, members: members.filter((member) => member.expireTime > now), sequence };
}
