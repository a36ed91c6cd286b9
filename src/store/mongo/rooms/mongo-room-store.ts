import { randomUUID } from "node:crypto";
import type { Collection } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import { KeyedSerializer } from "../../../lib/keyed-serializer.js";
import type { NewMember, NewMessage, RoomEvent, RoomState } from "../../room.js";
import type { DraftContext } from "../../room-rules.js";
import { RoomDraft } from "../../room-rules.js";
import type { RoomLimits, RoomListener, RoomStore, RoomStoreStats } from "../../room-store.js";
import { RoomStoreError } from "../../room-store.js";
import type { StoreHealth, Unsubscribe } from "../../store.js";
import type { LimitedInserts } from "../deployment/limited-insert.js";
import type { StoreRuntime } from "../deployment/store-runtime.js";
import { closeRuntime, runtimeHealth } from "../deployment/store-runtime.js";
import type { ExpiryMode } from "../deployment/expiry.js";
import type { StoreLogger, WatchMode } from "../deployment/options.js";
import type { RoomDocument, RoomEventDocument } from "./room-document.js";
import { isGone, openDraft, toRoomState } from "./room-document.js";
import { compareAndSet, insertRoom } from "./room-writes.js";
import type { EventReader } from "./room-events.js";
import { copyPending, eventsAfter, firstGap, missingRange, trimBacklog } from "./room-events.js";
import type { RoomSequences } from "./room-sequences.js";
import type { RoomWatchHub } from "./room-watch-hub.js";
import { guardedRoom } from "../deployment/unavailable.js";
import type { Fence, WriteGuard } from "../deployment/write-lock.js";

export interface MongoRoomStoreDeps extends StoreRuntime<RoomDocument> {
  readonly rooms: Collection<RoomDocument>;
  readonly events: Collection<RoomEventDocument>;
  readonly readEvents: EventReader;
  readonly clock: Clock;
  readonly limits: RoomLimits;
  readonly logger: StoreLogger;
  readonly hub: RoomWatchHub;
  readonly lastSequences: RoomSequences;
  /** max-rooms, counted exactly across processes. */
  readonly roomLimit: LimitedInserts<RoomDocument>;
}

/** What one write attempt did; undefined when another writer came first and it must read again. */
interface Written<T> {
  readonly doc: RoomDocument;
  readonly draft: RoomDraft;
  readonly result?: T;
  readonly failure?: RoomStoreError;
}

/** How to create the room when a mutation finds none. */
interface NewRoom {
  readonly seats: number;
  readonly joinSecretHash: string | undefined;
}

/** Compare-and-set attempts before a write gives up with `unavailable`; each waits up to 50 ms after losing. */
const maxAttempts = 200;
/** Rooms timed out per reaper pass and process; the rest wait for the next pass. */
const reapBatch = 100;

/**
 * Rooms in MongoDB, shared by every process using the same collections
 * (document design and ordering: see room-document.ts). Every mutation
 * reads the room, applies the rules in memory (room-draft.ts) and writes it
 * back with a compare-and-set, retrying when another writer came first.
 * Build it with openMongoRoomStore.
 */
export class MongoRoomStore implements RoomStore {
  /** This process's writes to one room go one at a time, so they never race each other for the compare-and-set or the lock. */
  private readonly writers = new KeyedSerializer();
  /** Whether the last reaper pass failed: it runs every poll interval, so an outage is logged once, not five times a second. */
  private reaperFailing = false;

  constructor(private readonly deps: MongoRoomStoreDeps) {}

  get watchMode(): WatchMode {
    return this.deps.watchMode;
  }

  get expiryMode(): ExpiryMode {
    return this.deps.deployment.concessions.expiry;
  }

  get writes(): WriteGuard["kind"] {
    return this.deps.writeGuard.kind;
  }

  async join(member: NewMember): Promise<RoomState> {
    const create = { seats: member.seats ?? this.deps.limits.defaultSeats, joinSecretHash: member.joinSecretHash };
    const { draft } = await this.mutate(member.room, (d) => d.join(member), create);
    return draft.state();
  }

  async renew(room: string, sessionId: string): Promise<RoomState> {
    const { draft } = await this.mutate(room, (d) => d.renew(sessionId));
    return draft.state();
  }

  async leave(room: string, sessionId: string): Promise<void> {
    await this.mutate(room, (d) => d.leave(sessionId));
  }

  async send(message: NewMessage): Promise<{ readonly sequence: number; readonly recipients: number }> {
    const { result } = await this.mutate(message.room, (d) => d.send(message));
    return result;
  }

  async getRoom(room: string): Promise<RoomState | undefined> {
    const doc = await this.read(room);
    return doc && toRoomState(doc, this.deps.clock.now());
  }

  async eventsSince(room: string, sequence: number): Promise<readonly RoomEvent[]> {
    const doc = await this.read(room);
    if (!doc) throw new RoomStoreError("room-not-found", room);
    if (sequence >= doc.sequence) return [];
    const range = missingRange(doc, sequence);
    // Read after the document: whatever left its `pending` before that read is in the collection.
    const stored = range ? await guardedRoom(room, () => this.deps.readEvents([range])) : [];
    const events = eventsAfter(doc, sequence, stored);
    const gap = firstGap(events, sequence, doc.sequence);
    if (gap !== undefined) throw new RoomStoreError("events-trimmed", room, `events of room ${room} from sequence ${gap} are no longer kept`);
    return events.map((e) => e.event);
  }

  watchRoom(room: string, listener: RoomListener): Unsubscribe {
    return this.deps.hub.add(room, listener);
  }

  health(): Promise<StoreHealth> {
    return runtimeHealth(this.deps);
  }

  /** Counts the rooms and seated members of every process sharing the collection. */
  async stats(): Promise<RoomStoreStats> {
    const now = this.deps.clock.now();
    const live = { expireAt: { $gt: new Date(now) } };
    const seated = [{ $match: live }, { $unwind: "$members" }, { $match: { "members.expireTime": { $gt: now } } }, { $count: "members" }];
    const [rooms, counted] = await guardedRoom("*", () =>
      Promise.all([this.deps.rooms.countDocuments(live), this.deps.rooms.aggregate<{ members: number }>(seated).toArray()]),
    );
    return { rooms, members: counted[0]?.members ?? 0 };
  }

  close(): Promise<void> {
    return closeRuntime(this.deps);
  }

  /**
   * Times out the members past their expire time in every room that has
   * some, one compare-and-set per room: with several processes reaping at
   * once, each `left` event is still appended exactly once. Never throws.
   */
  async timeOutExpiredMembers(): Promise<void> {
    try {
      const due = await this.deps.rooms
        .find({ nextExpireAt: { $lte: this.deps.clock.now() } }, { projection: { _id: 1 }, limit: reapBatch })
        .toArray();
      for (const { _id } of due) await this.settle(_id);
      this.reaperFailing = false;
    } catch (error) {
      if (!this.reaperFailing) this.deps.logger.warn("timing out expired room members failed; retrying every poll interval", { error: String(error) });
      this.reaperFailing = true;
    }
  }

  /** The live room document, after timing out its expired members; undefined when the room is gone. */
  private async read(room: string): Promise<RoomDocument | undefined> {
    const now = this.deps.clock.now();
    const doc = await guardedRoom(room, () => this.deps.rooms.findOne({ _id: room }));
    if (!doc || isGone(doc, now)) return undefined;
    if (doc.nextExpireAt !== null && doc.nextExpireAt <= now) {
      return this.settle(room);
    }
    this.seen(doc);
    return doc;
  }

  /** Applies what is overdue (times out expired members); the room after it, undefined when it is gone. */
  private settle(room: string): Promise<RoomDocument | undefined> {
    return this.mutate(room, () => undefined).then(({ doc }) => doc, (error: unknown) => this.ignoreGone(error));
  }

  private ignoreGone(error: unknown): undefined {
    if (error instanceof RoomStoreError && error.reason === "room-not-found") return undefined;
    throw error;
  }

  /**
   * Applies `op` to the room (created when `create` and missing) and writes
   * the result back, retrying from a fresh read while other writers come
   * first. A failing op still writes the members it timed out, then throws.
   * The time of the change is when the call was made, however long it
   * waits for its turn.
   */
  private async mutate<T>(room: string, op: (draft: RoomDraft) => T, create?: NewRoom): Promise<{ doc: RoomDocument; draft: RoomDraft; result: T }> {
    const { clock, limits } = this.deps;
    const context: DraftContext = { now: clock.now(), sessionTimeoutMs: limits.sessionTimeoutMs, maxBacklogBytes: limits.maxBacklogBytes };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const written = await this.writers.run(room, () =>
        guardedRoom(room, () => this.deps.writeGuard.run(room, (fence) => this.attempt(room, context, op, fence, create), async () => true)),
      );
      if (written) {
        this.afterWrite(written.doc, written.draft);
        if (written.failure) throw written.failure;
        return { doc: written.doc, draft: written.draft, result: written.result as T };
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
    }
    throw new RoomStoreError("unavailable", room, `room ${room} changed under ${maxAttempts} write attempts in a row; retry`);
  }

  private async attempt<T>(
    room: string,
    context: DraftContext,
    op: (draft: RoomDraft) => T,
    fence: Fence,
    create: NewRoom | undefined,
  ): Promise<Written<T> | undefined> {
    const { rooms, events } = this.deps;
    let doc = await rooms.findOne({ _id: room });
    if (doc && isGone(doc, context.now)) {
      // A dead incarnation: remove it, so that a join creates the room afresh (its events expire on their own).
      await rooms.deleteOne({ _id: room, epoch: doc.epoch, revision: doc.revision });
      doc = null;
    }
    if (!doc && !create) throw new RoomStoreError("room-not-found", room);
    const epoch = doc?.epoch ?? randomUUID();
    const draft = doc ? openDraft(doc, context) : RoomDraft.create(room, create!.seats, context, create!.joinSecretHash);
    let result: T | undefined;
    let failure: RoomStoreError | undefined;
    try {
      result = op(draft);
    } catch (error) {
      if (!(error instanceof RoomStoreError)) throw error;
      failure = error;
    }
    if (!draft.changed) {
      if (!doc) throw failure ?? new RoomStoreError("room-not-found", room);
      return { doc, draft, ...(failure ? { failure } : { result: result as T }) };
    }
    // The events earlier writes left in `pending` go to the events collection before this write removes them.
    if (doc) await copyPending(events, doc, draft.result().backlogFrom);
    const keepUntil = new Date(context.now + context.sessionTimeoutMs);
    const after = doc ? await compareAndSet(rooms, doc, draft, keepUntil, fence) : await insertRoom(this.deps.roomLimit, draft, epoch, keepUntil, fence);
    if (!after) return undefined;
    return { doc: after, draft, ...(failure ? { failure } : { result: result as T }) };
  }

  /** After a successful write: local watchers hear of it at once, and the backlog is kept within its limit. */
  private afterWrite(doc: RoomDocument, draft: RoomDraft): void {
    this.seen(doc);
    const below = draft.trimBelow;
    if (below !== undefined && this.deps.deployment.concessions.trimBacklogEagerly) {
      // Best effort: readers skip trimmed events by their offset, and the TTL index or sweeper deletes what is left.
      void trimBacklog(this.deps.events, doc.epoch, below).catch((error: unknown) =>
        this.deps.logger.warn("trimming a room's event backlog failed", { room: doc._id, error: String(error) }),
      );
    }
  }

  /** Tells the watch hub (and through it the sequence cache) of a document just read or written. */
  private seen(doc: RoomDocument): void {
    this.deps.lastSequences.note(doc);
    void this.deps.hub.deliver([doc]);
  }
}
