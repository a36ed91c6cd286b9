import { performance } from "node:perf_hooks";
import type { Clock } from "../../../lib/clock.js";
import type { ChannelChange, ChannelListener, Unsubscribe } from "../../store.js";
import { StoreError } from "../../store.js";
import type { ChannelDocument } from "./document.js";
import { toState } from "./document.js";
import type { FeedSink } from "../deployment/feed-sink.js";
import { pollFiltersByCounter } from "../deployment/poll-filter.js";

interface Watched {
  readonly listeners: Set<ChannelListener>;
  /** The newest version handed to the listeners (0 before the first). */
  version: number;
  /** Known once a document of the channel was seen. */
  expireTime?: number;
  /** When (performance.now(): real time, as the poll timer runs) the latest local read or write that returned the document began. */
  observedAt?: number;
}

/**
 * The channels this process's watchers hold, and the fan-out of changes to
 * them. Feeds (polling or a change stream) hand it documents; it turns them
 * into ChannelChanges, each version at most once, and forgets a channel
 * once it ended.
 */
export class WatchHub {
  private readonly watched = new Map<string, Watched>();

  add(id: string, listener: ChannelListener): Unsubscribe {
    let entry = this.watched.get(id);
    if (!entry) this.watched.set(id, (entry = { listeners: new Set(), version: 0 }));
    entry.listeners.add(listener);
    return () => {
      const current = this.watched.get(id);
      if (!current) return;
      current.listeners.delete(listener);
      if (current.listeners.size === 0) this.watched.delete(id);
    };
  }

  get size(): number {
    return this.watched.size;
  }

  isWatched(id: string): boolean {
    return this.watched.has(id);
  }

  /** Each watched channel with the newest version its listeners have; with `observedSince`, only those no local operation begun since then returned. */
  *versions(observedSince?: number): Iterable<[id: string, version: number]> {
    for (const [id, entry] of this.watched) {
      if (observedSince !== undefined && entry.observedAt !== undefined && entry.observedAt >= observedSince) continue;
      yield [id, entry.version];
    }
  }

  /**
   * Tells the channel's watchers of its document as a local read or write
   * begun at `startedAt` (performance.now()) returned it: it holds every
   * change made before then, by any process.
   */
  observed(doc: ChannelDocument, startedAt: number, now: number): void {
    const entry = this.watched.get(doc._id);
    if (entry) entry.observedAt = Math.max(entry.observedAt ?? startedAt, startedAt);
    this.publish(doc, now);
  }

  /** Tells the channel's watchers of its document as it is now (each version once). */
  publish(doc: ChannelDocument, now: number): void {
    const entry = this.watched.get(doc._id);
    if (!entry || doc.version <= entry.version) return;
    if (doc.closedBy) {
      // The tombstone still holds what changed before the close; a watcher that missed it gets it first.
      if (doc.version - 1 > entry.version) this.notify(entry, { kind: "updated", state: { ...toState(doc), version: doc.version - 1 } });
      return this.end(doc._id, { kind: "closed", closedBy: doc.closedBy, version: doc.version });
    }
    entry.expireTime = doc.expireAt.getTime();
    if (entry.expireTime <= now) return this.end(doc._id, { kind: "expired", version: doc.version + 1 });
    // Created, nothing changed yet: nothing to tell, as in every store (a poll may read it between subscribe and first change).
    if (doc.version === 1) return;
    entry.version = doc.version;
    // Version 1 is the channel as created: no change to tell (a poll may read it before the first change lands).
    if (doc.version > 1) this.notify(entry, { kind: "updated", state: toState(doc) });
  }

  /** The channel's document was deleted: it expired (a closed one was seen closed before). */
  deleted(id: string): void {
    const entry = this.watched.get(id);
    if (entry) this.end(id, { kind: "expired", version: entry.version + 1 });
  }

  /** Ends every watched channel whose expire time has come. */
  expire(now: number): void {
    for (const [id, entry] of this.watched) {
      if (entry.expireTime !== undefined && entry.expireTime <= now) this.end(id, { kind: "expired", version: entry.version + 1 });
    }
  }

  /** Ends every watch with `error`, so that clients reconnect once the store is back. */
  failAll(error: StoreError): void {
    for (const id of [...this.watched.keys()]) this.end(id, { kind: "failed", error });
  }

  private end(id: string, change: ChannelChange): void {
    const entry = this.watched.get(id);
    this.watched.delete(id);
    if (entry) this.notify(entry, change);
  }

  private notify(entry: Watched, change: ChannelChange): void {
    for (const listener of [...entry.listeners]) listener(change);
  }
}

/**
 * The channel hub as the feeds see it: documents newer than the version
 * each channel's watchers have. With `skipObserved` (where every lookup
 * scans the collection: FerretDB), a poll leaves out the channels a local
 * read or write begun since the previous poll began returned: that
 * document holds every change made before it, so a change another process
 * makes reaches the watchers within two poll intervals instead of one, and
 * a process whose own calls keep its watched channels fresh (one instance,
 * or both peers on it) polls them far less.
 */
export function channelFeedSink(hub: WatchHub, clock: Clock, skipObserved = false): FeedSink<ChannelDocument> {
  let previousPoll: number | undefined;
  return {
    pollFilters: (lookup) => {
      const now = performance.now();
      const since = skipObserved ? previousPoll : undefined;
      previousPoll = now;
      return pollFiltersByCounter<ChannelDocument>("version", [...hub.versions(since)], lookup);
    },
    deliver(docs) {
      const now = clock.now();
      for (const doc of docs) hub.publish(doc, now);
    },
    deleted: (id) => hub.deleted(id),
    failAll: (detail) => hub.failAll(new StoreError("unavailable", "*", detail)),
  };
}
