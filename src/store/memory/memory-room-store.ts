import type { Cancel, Clock } from "../../lib/clock.js";
import type { LeaveReasonName, NewMember, NewMessage, RoomEvent, RoomMemberState, RoomState } from "../room.js";
import { findMember, roomEventBytes } from "../room.js";
import type { RoomChange, RoomLimits, RoomListener, RoomStore, RoomStoreStats } from "../room-store.js";
import { RoomStoreError } from "../room-store.js";
import { takeSeat } from "../room-seats.js";
import type { Unsubscribe } from "../store.js";
import { Listeners } from "../listeners.js";

/** An event before the store numbers it. */
type NewEvent<E = RoomEvent> = E extends RoomEvent ? Omit<E, "sequence"> : never;

interface RoomRecord {
  readonly name: string;
  readonly seats: number;
  /** The hash of the secret every join must give; undefined: none. */
  readonly joinSecretHash: string | undefined;
  /** Replaced whole on every change, so a RoomState handed out never changes. */
  members: readonly RoomMemberState[];
  sequence: number;
  /** The kept events, oldest first, ending with the one at `sequence`. */
  readonly backlog: RoomEvent[];
  backlogBytes: number;
  /** While the room has no members: when it is deleted, and the timer that does it. */
  deletion: { readonly at: number; readonly cancel: Cancel } | undefined;
}

/**
 * The embedded room store: rooms in a Map of this process. Each member has
 * a timer set for its expire time, and an empty room a timer for its
 * deletion, so a member times out exactly once, when its time comes; every
 * call also settles what is overdue first, so a late timer never shows.
 */
export class MemoryRoomStore implements RoomStore {
  private readonly rooms = new Map<string, RoomRecord>();
  private readonly listeners = new Listeners<RoomChange>();
  private readonly memberTimers = new Map<string, Cancel>();

  constructor(
    private readonly clock: Clock,
    private readonly limits: RoomLimits,
  ) {}

  /** Rooms held now, empty ones awaiting deletion included. */
  get size(): number {
    return this.rooms.size;
  }

  async join(member: NewMember): Promise<RoomState> {
    const now = this.clock.now();
    let record = this.live(member.room);
    if (!record) {
      if (this.rooms.size >= this.limits.maxRooms) {
        throw new RoomStoreError("room-limit", member.room, `the server holds its maximum of ${this.limits.maxRooms} rooms`);
      }
      record = this.create(member.room, member.seats ?? this.limits.defaultSeats, member.joinSecretHash);
    }
    const seated = takeSeat(record, member, now, this.limits.sessionTimeoutMs);
    record.deletion?.cancel();
    record.deletion = undefined;
    record.members = [...record.members, seated];
    this.scheduleTimeout(record, seated);
    this.append(record, { kind: "joined", member: seated });
    return stateOf(record);
  }

  async renew(room: string, sessionId: string): Promise<RoomState> {
    const record = this.require(room);
    const member = this.requireMember(record, sessionId);
    const renewed = { ...member, expireTime: this.clock.now() + this.limits.sessionTimeoutMs };
    record.members = record.members.map((m) => (m === member ? renewed : m));
    this.scheduleTimeout(record, renewed);
    return stateOf(record);
  }

  async leave(room: string, sessionId: string): Promise<void> {
    const record = this.require(room);
    this.remove(record, this.requireMember(record, sessionId), "left");
  }

  async send(message: NewMessage): Promise<{ readonly sequence: number; readonly recipients: number }> {
    const record = this.require(message.room);
    this.requireMember(record, message.from);
    if (message.to !== undefined && !findMember(stateOf(record), message.to, this.clock.now())) {
      throw new RoomStoreError("recipient-not-found", message.room, `session ${message.to} is not a member of room ${message.room}`);
    }
    this.append(record, {
      kind: "message",
      from: message.from,
      ...(message.to !== undefined && { to: message.to }),
      messageKind: message.messageKind,
      body: message.body,
      sendTime: this.clock.now(),
    });
    return { sequence: record.sequence, recipients: message.to === undefined ? record.members.length - 1 : 1 };
  }

  async getRoom(room: string): Promise<RoomState | undefined> {
    const record = this.live(room);
    return record && stateOf(record);
  }

  async eventsSince(room: string, sequence: number): Promise<readonly RoomEvent[]> {
    const record = this.require(room);
    if (sequence >= record.sequence) return [];
    const first = record.backlog[0]?.sequence ?? record.sequence + 1;
    if (sequence + 1 < first) {
      throw new RoomStoreError("events-trimmed", room, `room ${room} keeps its events from sequence ${first} on, not ${sequence + 1}`);
    }
    return record.backlog.slice(sequence + 1 - first);
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
    for (const cancel of this.memberTimers.values()) cancel();
    this.memberTimers.clear();
    for (const record of this.rooms.values()) record.deletion?.cancel();
  }

  private create(name: string, seats: number, joinSecretHash: string | undefined): RoomRecord {
    const record: RoomRecord = { name, seats, joinSecretHash, members: [], sequence: 0, backlog: [], backlogBytes: 0, deletion: undefined };
    this.rooms.set(name, record);
    return record;
  }

  /** The room with what is overdue settled: timed-out members removed, an expired empty room deleted. */
  private live(name: string): RoomRecord | undefined {
    const record = this.rooms.get(name);
    if (!record) return undefined;
    const now = this.clock.now();
    for (const member of record.members) {
      if (member.expireTime <= now) this.remove(record, member, "timed-out");
    }
    if (record.deletion && record.deletion.at <= now) this.delete(record);
    return this.rooms.get(name);
  }

  private require(name: string): RoomRecord {
    const record = this.live(name);
    if (!record) throw new RoomStoreError("room-not-found", name);
    return record;
  }

  private requireMember(record: RoomRecord, sessionId: string): RoomMemberState {
    const member = findMember(stateOf(record), sessionId, this.clock.now());
    if (!member) throw new RoomStoreError("session-not-found", record.name, `session ${sessionId} is not a member of room ${record.name}`);
    return member;
  }

  private remove(record: RoomRecord, member: RoomMemberState, reason: LeaveReasonName): void {
    const key = timerKey(record.name, member.sessionId);
    this.memberTimers.get(key)?.();
    this.memberTimers.delete(key);
    record.members = record.members.filter((m) => m.sessionId !== member.sessionId);
    this.append(record, { kind: "left", sessionId: member.sessionId, reason });
    if (record.members.length === 0) {
      // The room outlives its last member by the session timeout, so late watchers can still read how it ended.
      const emptySince = reason === "timed-out" ? member.expireTime : this.clock.now();
      const at = emptySince + this.limits.sessionTimeoutMs;
      record.deletion = { at, cancel: this.clock.schedule(at - this.clock.now(), () => this.delete(record)) };
    }
  }

  private delete(record: RoomRecord): void {
    if (this.rooms.get(record.name) !== record || record.members.length > 0) return;
    record.deletion?.cancel();
    this.rooms.delete(record.name);
    this.listeners.notify(record.name, { kind: "failed", error: new RoomStoreError("room-not-found", record.name) });
    this.listeners.drop(record.name);
  }

  private scheduleTimeout(record: RoomRecord, member: RoomMemberState): void {
    const key = timerKey(record.name, member.sessionId);
    this.memberTimers.get(key)?.();
    const cancel = this.clock.schedule(member.expireTime - this.clock.now(), () => {
      this.memberTimers.delete(key);
      this.live(record.name);
    });
    this.memberTimers.set(key, cancel);
  }

  private append(record: RoomRecord, init: NewEvent): void {
    const event = { ...init, sequence: ++record.sequence } as RoomEvent;
    record.backlog.push(event);
    record.backlogBytes += roomEventBytes(event);
    while (record.backlogBytes > this.limits.maxBacklogBytes && record.backlog.length > 0) {
      record.backlogBytes -= roomEventBytes(record.backlog.shift()!);
    }
    this.listeners.notify(record.name, { kind: "event", event });
  }
}

function stateOf(record: RoomRecord): RoomState {
  return { name: record.name, seats: record.seats, members: record.members, sequence: record.sequence };
}

function timerKey(room: string, sessionId: string): string {
  return `${room}\n${sessionId}`;
}
