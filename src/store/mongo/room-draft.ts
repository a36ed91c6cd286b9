import type { NewMember, NewMessage, RoomEvent, RoomMemberState, RoomState } from "../room.js";
import { findMember, isFor, roomEventBytes } from "../room.js";
import { RoomStoreError } from "../room-store.js";
import { takeSeat } from "../room-seats.js";
import type { RoomDocument, RoomEventDocument } from "./room-document.js";
import { eventId, pendingKey, toRoomState } from "./room-document.js";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export interface DraftContext {
  readonly now: number;
  readonly sessionTimeoutMs: number;
  readonly maxBacklogBytes: number;
}

/** The fields a write sets on the room document (besides `revision`). */
export type RoomFields = Pick<RoomDocument, "members" | "sequence" | "appendedBytes" | "backlogFrom" | "nextExpireAt" | "expireAt">;

/**
 * A room being changed, in memory: the rules of seats, presence and
 * messages, free of any database. A draft opened from a document first
 * times out its expired members (one `left` event each); the caller writes
 * the result back with a compare-and-set, so those events are appended
 * once however many processes try.
 */
export class RoomDraft {
  /** Events appended by this draft, in order. */
  readonly events: RoomEventDocument[] = [];
  private members: RoomMemberState[];
  private sequence: number;
  private appendedBytes: number;
  private backlogFrom: number;
  /** Whether this draft raised backlogFrom: its writer deletes the stored events below it. */
  private trimmed = false;
  /** When the room last lost its last member in this draft. */
  private emptySince: number | undefined;
  private touched = false;

  private constructor(
    readonly name: string,
    readonly epoch: string,
    readonly seats: number,
    from: Pick<RoomDocument, "members" | "sequence" | "appendedBytes" | "backlogFrom">,
    private readonly previousExpireAt: Date,
    private readonly context: DraftContext,
    private readonly joinSecretHash: string | undefined,
  ) {
    this.members = [...from.members];
    this.sequence = from.sequence;
    this.appendedBytes = from.appendedBytes;
    this.backlogFrom = from.backlogFrom;
  }

  /** The stored room, with every member past its expire time timed out. */
  static open(doc: RoomDocument, context: DraftContext): RoomDraft {
    const draft = new RoomDraft(doc._id, doc.epoch, doc.seats, doc, doc.expireAt, context, doc.joinSecretHash);
    draft.timeOutExpired();
    return draft;
  }

  /** A room that does not exist yet; only a join makes it worth writing. */
  static create(name: string, epoch: string, seats: number, context: DraftContext, joinSecretHash?: string): RoomDraft {
    const empty = { members: [], sequence: 0, appendedBytes: 0, backlogFrom: 0 };
    return new RoomDraft(name, epoch, seats, empty, new Date(context.now), context, joinSecretHash);
  }

  /** Whether there is anything to write. */
  get changed(): boolean {
    return this.touched;
  }

  /** The offset below which stored events must be deleted after this draft is written; undefined when unchanged. */
  get trimBelow(): number | undefined {
    return this.trimmed ? this.backlogFrom : undefined;
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
    return toRoomState({ _id: this.name, seats: this.seats, members: this.members, sequence: this.sequence }, this.context.now);
  }

  /** The values to write. */
  fields(): RoomFields {
    const timeout = this.context.sessionTimeoutMs;
    const expireTimes = this.members.map((member) => member.expireTime);
    let expireAt: number;
    if (expireTimes.length > 0) expireAt = Math.max(...expireTimes) + timeout;
    else if (this.emptySince !== undefined) expireAt = this.emptySince + timeout;
    else expireAt = this.previousExpireAt.getTime();
    return {
      members: this.members,
      sequence: this.sequence,
      appendedBytes: this.appendedBytes,
      backlogFrom: this.backlogFrom,
      nextExpireAt: expireTimes.length > 0 ? Math.min(...expireTimes) : null,
      expireAt: new Date(expireAt),
    };
  }

  /** The whole document of a room this draft creates. */
  newDocument(): RoomDocument {
    const secret = this.joinSecretHash === undefined ? {} : { joinSecretHash: this.joinSecretHash };
    return { _id: this.name, epoch: this.epoch, seats: this.seats, ...secret, revision: 1, pending: this.pendingEvents(), ...this.fields() };
  }

  /** This draft's events, keyed as in the document's `pending`. */
  pendingEvents(): Record<string, RoomEventDocument> {
    return Object.fromEntries(this.events.map((event) => [pendingKey(event.sequence), event]));
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

  private append(init: DistributiveOmit<RoomEvent, "sequence">): number {
    const sequence = ++this.sequence;
    const event = { ...init, sequence } as RoomEvent;
    this.events.push({
      _id: eventId(this.epoch, sequence),
      epoch: this.epoch,
      sequence,
      event,
      startOffset: this.appendedBytes,
      expireAt: new Date(this.context.now + this.context.sessionTimeoutMs),
    });
    this.appendedBytes += roomEventBytes(event);
    const max = this.context.maxBacklogBytes;
    if (this.appendedBytes - this.backlogFrom > max) {
      this.backlogFrom = this.appendedBytes - Math.floor((max * 7) / 8);
      this.trimmed = true;
    }
    this.touched = true;
    return sequence;
  }
}
