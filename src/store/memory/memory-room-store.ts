import type { Cancel, Clock } from "../../lib/clock.js";
import type { NewMember, NewMessage, RoomEvent, RoomState } from "../room.js";
import type { AppendedEvent, DraftContext, DraftResult } from "../room-rules.js";
import { isKept, RoomDraft, roomState } from "../room-rules.js";
import type { RoomChange, RoomLimits, RoomListener, RoomStore, RoomStoreStats } from "../room-store.js";
import { RoomStoreError } from "../room-store.js";
import type { Unsubscribe } from "../store.js";
import { Listeners } from "../listeners.js";

interface RoomRecord extends DraftResult {
  readonly name: string;
  readonly seats: number;
  /** The hash of the secret every join must give; undefined: none. */
  readonly joinSecretHash: string | undefined;
  /** The kept events, oldest first, ending with the one at `sequence`. */
  readonly backlog: AppendedEvent[];
}

/**
 * The embedded room store: rooms in a Map of this process, changed by the
 * same rules as every store (room-rules.ts). Each room has one timer, set
 * for its next due time (a member's expire time, or an empty room's end),
 * so a member times out exactly once, when its time comes; every call also
 * settles what is overdue first, so a late timer never shows.
 */
export class MemoryRoomStore implements RoomStore {
  private readonly rooms = new Map<string, RoomRecord>();
  private readonly listeners = new Listeners<RoomChange>();
  private readonly timers = new Map<string, Cancel>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: RoomLimits,
  ) {}

  /** Rooms held now, empty ones awaiting deletion included. */
  get size(): number {
    return this.rooms.size;
  }

  async join(member: NewMember): Promise<RoomState> {
    const create = { seats: member.seats ?? this.limits.defaultSeats, joinSecretHash: member.joinSecretHash };
    return this.change(member.room, (draft) => draft.join(member), create).draft.state();
  }

  async renew(room: string, sessionId: string): Promise<RoomState> {
    return this.change(room, (draft) => draft.renew(sessionId)).draft.state();
  }

  async leave(room: string, sessionId: string): Promise<void> {
    this.change(room, (draft) => draft.leave(sessionId));
  }

  async send(message: NewMessage): Promise<{ readonly sequence: number; readonly recipients: number }> {
    return this.change(message.room, (draft) => draft.send(message)).result;
  }

  async getRoom(room: string): Promise<RoomState | undefined> {
    const record = this.settle(room);
    return record && roomState(record.name, record.seats, record.members, record.sequence, this.clock.now());
  }

  async eventsSince(room: string, sequence: number): Promise<readonly RoomEvent[]> {
    const record = this.settle(room);
    if (!record) throw new RoomStoreError("room-not-found", room);
    if (sequence >= record.sequence) return [];
    const first = record.backlog[0]?.event.sequence ?? record.sequence + 1;
    if (sequence + 1 < first) {
      throw new RoomStoreError("events-trimmed", room, `room ${room} keeps its events from sequence ${first} on, not ${sequence + 1}`);
    }
    return record.backlog.slice(sequence + 1 - first).map(({ event }) => event);
  }

  watchRoom(room: string, listener: RoomListener): Unsubscribe {
    return this.listeners.add(room, listener);
  }

  async stats(): Promise<RoomStoreStats> {
    const now = this.clock.now();
    let members = 0;
    for (const record of this.rooms.values()) {
      for (const member of record.members) if (member.expireTime > now) members++;
    }
    return { rooms: this.rooms.size, members };
  }

  async close(): Promise<void> {
    for (const cancel of this.timers.values()) cancel();
    this.timers.clear();
  }

  /** The room with what is overdue applied (expired members timed out, an ended room deleted); undefined when there is none. */
  private settle(room: string): RoomRecord | undefined {
    if (!this.live(room)) return undefined;
    this.change(room, () => undefined);
    return this.rooms.get(room);
  }

  /** The room unless it ended (then it is deleted and its watchers told). */
  private live(room: string): RoomRecord | undefined {
    const record = this.rooms.get(room);
    if (record && record.expireAt <= this.clock.now()) {
      this.delete(record);
      return undefined;
    }
    return record;
  }

  /**
   * Applies `op` to the room (created as `create` says when missing and
   * given) by the rules, then the result to the map. A failing op still
   * applies the members it timed out, then throws.
   */
  private change<T>(
    room: string,
    op: (draft: RoomDraft) => T,
    create?: { readonly seats: number; readonly joinSecretHash: string | undefined },
  ): { draft: RoomDraft; result: T } {
    const context: DraftContext = { now: this.clock.now(), sessionTimeoutMs: this.limits.sessionTimeoutMs, maxBacklogBytes: this.limits.maxBacklogBytes };
    const record = this.live(room);
    if (!record && create === undefined) throw new RoomStoreError("room-not-found", room);
    if (!record && this.rooms.size >= this.limits.maxRooms) {
      throw new RoomStoreError("room-limit", room, `the server holds its maximum of ${this.limits.maxRooms} rooms`);
    }
    const draft = record
      ? RoomDraft.open(record.name, record.seats, record, record.expireAt, context, record.joinSecretHash)
      : RoomDraft.create(room, create!.seats, context, create!.joinSecretHash);
    let outcome: { result: T } | { failure: unknown };
    try {
      outcome = { result: op(draft) };
    } catch (failure) {
      outcome = { failure };
    }
    if (draft.changed) this.apply(draft, record?.backlog ?? []);
    if ("failure" in outcome) throw outcome.failure;
    return { draft, result: outcome.result };
  }

  private apply(draft: RoomDraft, backlog: AppendedEvent[]): void {
    const result = draft.result();
    backlog.push(...draft.events);
    while (backlog.length > 0 && !isKept(backlog[0]!, result.backlogFrom)) backlog.shift();
    this.rooms.set(draft.name, { ...result, name: draft.name, seats: draft.seats, joinSecretHash: draft.joinSecretHash, backlog });
    this.schedule(draft.name, result.nextExpireAt ?? result.expireAt);
    for (const { event } of draft.events) this.listeners.notify(draft.name, { kind: "event", event });
  }

  private delete(record: RoomRecord): void {
    this.timers.get(record.name)?.();
    this.timers.delete(record.name);
    this.rooms.delete(record.name);
    this.listeners.notify(record.name, { kind: "failed", error: new RoomStoreError("room-not-found", record.name) });
    this.listeners.drop(record.name);
  }

  /** One timer per room, at its next due time: then the room is settled. */
  private schedule(room: string, at: number): void {
    this.timers.get(room)?.();
    const cancel = this.clock.schedule(Math.max(0, at - this.clock.now()), () => {
      this.timers.delete(room);
      const record = this.settle(room);
      // A timer that fired a little early finds nothing due yet: set it again.
      if (record && !this.timers.has(room)) this.schedule(room, record.nextExpireAt ?? record.expireAt);
    });
    this.timers.set(room, cancel);
  }
}
