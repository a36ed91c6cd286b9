import type { Filter } from "mongodb";
import type { RoomChange, RoomListener } from "../../room-store.js";
import { RoomStoreError } from "../../room-store.js";
import type { Unsubscribe } from "../../store.js";
import type { FeedSink } from "../deployment/feed-sink.js";
import type { StoreLogger } from "../deployment/options.js";
import type { PollLookup } from "../deployment/poll-filter.js";
import { counterClauses, idClauses, packClauses, pollsById } from "../deployment/poll-filter.js";
import type { RoomDocument, RoomEventDocument } from "./room-document.js";
import type { EventRange } from "./room-events.js";
import { eventsAfter, firstGap, missingRange } from "./room-events.js";
import type { RoomSequences } from "./room-sequences.js";
import { isUnavailableError } from "../deployment/unavailable.js";

interface WatchedRoom {
  readonly listeners: Set<RoomListener>;
  /** The incarnation `cursor` counts in; undefined until known. */
  epoch: string | undefined;
  /** The last sequence handed to the listeners. */
  cursor: number;
  /**
   * False while the cursor is only a starting guess (from an earlier read):
   * events before the first one handed over may have been trimmed without
   * loss, since the watcher reads what it missed itself after subscribing.
   */
  confirmed: boolean;
}

/**
 * The rooms this process's watchers hold, and the fan-out of their events.
 * Feeds (one polling query per interval for all watched rooms, or one
 * change stream) and this process's own writes hand it room documents; it
 * takes the new events from the document's `pending` and, for the rest,
 * from ONE query of the events collection per batch, and hands every event
 * to the listeners exactly once, in sequence order. Batches are handled
 * one after another, so a slow fetch never lets a later batch overtake.
 */
export class RoomWatchHub implements FeedSink<RoomDocument> {
  private readonly watched = new Map<string, WatchedRoom>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly fetchEvents: (ranges: readonly EventRange[]) => Promise<RoomEventDocument[]>,
    private readonly lastSequences: RoomSequences,
    private readonly logger: StoreLogger,
  ) {}

  add(room: string, listener: RoomListener): Unsubscribe {
    let entry = this.watched.get(room);
    if (!entry) {
      const last = this.lastSequences.get(room);
      entry = { listeners: new Set(), epoch: last?.epoch, cursor: last?.sequence ?? 0, confirmed: false };
      this.watched.set(room, entry);
    }
    entry.listeners.add(listener);
    return () => {
      const current = this.watched.get(room);
      if (!current) return;
      current.listeners.delete(listener);
      if (current.listeners.size === 0) this.watched.delete(room);
    };
  }

  get size(): number {
    return this.watched.size;
  }

  /** Rooms past their watchers' cursor, rooms of another incarnation (epoch), rooms whose epoch is not known yet: one query for up to maxIdsPerPollQuery rooms. */
  pollFilters(lookup: PollLookup): Filter<RoomDocument>[] {
    if (pollsById(lookup, this.watched.size)) {
      return [...this.watched].map(([room, { epoch, cursor }]) =>
        epoch === undefined ? { _id: room } : { _id: room, $or: [{ sequence: { $gt: cursor } }, { epoch: { $ne: epoch } }] },
      );
    }
    const known = [...this.watched].filter(([, { epoch }]) => epoch !== undefined);
    const unknown = [...this.watched].filter(([, { epoch }]) => epoch === undefined).map(([room]) => room);
    const epochs = new Map(known.map(([room, { epoch }]) => [room, epoch!]));
    return packClauses([
      ...counterClauses<RoomDocument>("sequence", known.map(([room, { cursor }]) => [room, cursor] as const)),
      ...idClauses<RoomDocument>([...epochs.keys()], (chunk) => ({ _id: { $in: chunk }, epoch: { $nin: chunk.map((room) => epochs.get(room)!) } })),
      ...idClauses<RoomDocument>(unknown, (chunk) => ({ _id: { $in: chunk } })),
    ]);
  }

  /** Never rejects: a failed fetch ends the watches (unavailable) or waits for the next document. */
  deliver(docs: readonly RoomDocument[]): Promise<void> {
    this.queue = this.queue.then(() => this.handle(docs));
    return this.queue;
  }

  /** A room document was deleted: its watchers' sessions are gone with it. */
  deleted(room: string): void {
    if (this.watched.get(room)?.confirmed) this.end(room, new RoomStoreError("room-not-found", room));
  }

  failAll(detail: string): void {
    for (const room of [...this.watched.keys()]) this.end(room, new RoomStoreError("unavailable", room, detail));
  }

  private async handle(docs: readonly RoomDocument[]): Promise<void> {
    const fresh: RoomDocument[] = [];
    for (const doc of docs) {
      this.lastSequences.note(doc);
      const entry = this.watched.get(doc._id);
      if (!entry) continue;
      if (entry.epoch !== doc.epoch) {
        if (entry.confirmed) {
          // The room was deleted and created again: the watcher's session is not in the new one.
          this.end(doc._id, new RoomStoreError("room-not-found", doc._id));
          continue;
        }
        entry.epoch = doc.epoch;
        entry.cursor = 0;
      }
      if (doc.sequence > entry.cursor) fresh.push(doc);
    }
    if (fresh.length === 0) return;
    const ranges = fresh.flatMap((doc) => missingRange(doc, this.watched.get(doc._id)!.cursor) ?? []);
    let stored: RoomEventDocument[] = [];
    try {
      stored = await this.fetchEvents(ranges);
    } catch (error) {
      if (isUnavailableError(error)) this.failAll(`MongoDB is unavailable: ${(error as Error).message}`);
      else this.logger.warn("reading room events for watchers failed; retrying with the next change", { error: String(error) });
      return;
    }
    for (const doc of fresh) this.handOver(doc, stored);
  }

  private handOver(doc: RoomDocument, stored: readonly RoomEventDocument[]): void {
    const entry = this.watched.get(doc._id);
    if (!entry || entry.epoch !== doc.epoch || doc.sequence <= entry.cursor) return;
    const events = eventsAfter(doc, entry.cursor, stored);
    // An unconfirmed watcher starts at the first event still kept; any later gap is a loss.
    const from = entry.confirmed ? entry.cursor : (events[0]?.sequence ?? doc.sequence + 1) - 1;
    const gap = firstGap(events, from, doc.sequence);
    if (gap !== undefined) {
      this.end(doc._id, new RoomStoreError("events-trimmed", doc._id, `events of room ${doc._id} from sequence ${gap} are no longer kept`));
      return;
    }
    entry.confirmed = true;
    for (const { event } of events) {
      entry.cursor = event.sequence;
      this.notify(entry, { kind: "event", event });
      if (this.watched.get(doc._id) !== entry) return;
    }
    entry.cursor = doc.sequence;
  }

  private end(room: string, error: RoomStoreError): void {
    const entry = this.watched.get(room);
    this.watched.delete(room);
    if (entry) this.notify(entry, { kind: "failed", error });
  }

  private notify(entry: WatchedRoom, change: RoomChange): void {
    for (const listener of [...entry.listeners]) listener(change);
  }
}
