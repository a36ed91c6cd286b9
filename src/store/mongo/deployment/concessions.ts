import type { Collection, Db } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import type { Capabilities } from "./capabilities.js";
import type { Expiring, ExpiryMode } from "./expiry.js";
import { ensureExpiryIndex, startSweeper } from "./expiry.js";
import type { StoreLogger } from "./options.js";
import type { PollLookup } from "./poll-filter.js";
import type { WriteGuard } from "./write-lock.js";
import { atomicUpdates, LeaseLock } from "./write-lock.js";

/**
 * Every workaround for a deployment that lacks a capability (FerretDB 1.x),
 * chosen here from the capabilities alone. On a MongoDB replica set each of
 * these is the plain path: no lock, TTL indexes, ranged event reads, eager
 * trimming. (The channel document's shape, a list of change codes instead of
 * per-value versions, serves both: it needs no pipeline update.)
 */
export interface Concessions {
  /** `atomic-update` on MongoDB; `lease-lock` (lock documents in `<collection>.locks`) without atomic conditional updates. */
  writeGuard(collection: string): WriteGuard;
  /** `ttl-index` on MongoDB; `sweeper` (a timer deleting expired documents) without TTL indexes. */
  readonly expiry: ExpiryMode;
  /** Creates the expiry index of a collection and, without TTL indexes, starts its sweeper; returns what stops it. */
  expireDocuments<TDoc extends Expiring>(collection: Collection<TDoc>, clock: Clock, what: string): Promise<() => void>;
  /** `range`: one indexed query per batch; `by-id`: one `_id` lookup per event, where other filters scan the collection. */
  readonly eventLookup: "range" | "by-id";
  /** `range`: grouped poll queries; `by-id`: one `_id` lookup per watched document while few are watched (see poll-filter.ts). */
  readonly pollLookup: PollLookup;
  /** Whether a write deletes the room events the backlog limit trimmed at once (else they expire); only where the delete is indexed. */
  readonly trimBacklogEagerly: boolean;
  /**
   * Whether a channel poll leaves out the channels a local read or write returned since the previous poll began
   * (see channelFeedSink): where every lookup scans the collection (FerretDB 1.x, even by `_id`), at the cost of up to
   * two poll intervals instead of one for another process's change to such a channel.
   */
  readonly skipObservedInPolls: boolean;
}

export function concessionsFor(capabilities: Capabilities, db: Db, leaseMs: number, sweepIntervalMs: number, logger: StoreLogger): Concessions {
  const expiry: ExpiryMode = capabilities.ttlIndexes ? "ttl-index" : "sweeper";
  return {
    writeGuard: (collection) => (capabilities.atomicConditionalUpdates ? atomicUpdates : LeaseLock.forCollection(db, collection, leaseMs)),
    expiry,
    async expireDocuments(collection, clock, what) {
      await ensureExpiryIndex(collection, expiry);
      if (expiry === "ttl-index") return () => {};
      logger.warn(`this MongoDB server refuses TTL indexes; a background sweeper deletes expired ${what} instead`);
      return startSweeper(collection, clock, sweepIntervalMs, logger);
    },
    eventLookup: capabilities.indexedQueries ? "range" : "by-id",
    pollLookup: capabilities.indexedQueries ? "range" : "by-id",
    trimBacklogEagerly: capabilities.indexedQueries,
    skipObservedInPolls: !capabilities.indexedQueries,
  };
}
