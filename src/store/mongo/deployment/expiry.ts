import type { Collection, Filter } from "mongodb";
import { MongoServerError } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import type { StoreLogger } from "./options.js";
import { repeat } from "./repeat.js";

/** How expired documents leave the collection. */
export type ExpiryMode = "ttl-index" | "sweeper";

/** A document the database deletes once `expireAt` has passed. */
export interface Expiring {
  expireAt: Date;
}

const notImplemented = 238;

/**
 * Creates the TTL index on `expireAt` (idempotent: an equal index is left
 * as it is). Where the server refuses TTL indexes (FerretDB 1.x), creates a
 * plain index for the sweeper instead and says so once. `what` names the
 * documents in that message ("channels").
 */
export async function ensureExpiryIndex<TDoc extends Expiring>(
  collection: Collection<TDoc>,
  logger: StoreLogger,
  what = "channels",
): Promise<ExpiryMode> {
  try {
    await collection.createIndex({ expireAt: 1 }, { name: "expireAt_ttl", expireAfterSeconds: 0 });
    return "ttl-index";
  } catch (error) {
    if (!(error instanceof MongoServerError && error.code === notImplemented)) throw error;
    logger.warn(`this MongoDB server refuses TTL indexes; a background sweeper deletes expired ${what} instead`, {
      error: error.message,
    });
    await collection.createIndex({ expireAt: 1 }, { name: "expireAt" });
    return "sweeper";
  }
}

/**
 * Deletes expired documents every `intervalMs`, in one query. Reads never
 * depend on it (they check `expireAt` themselves): it only frees space.
 * Several processes sweeping at once delete each document once.
 */
export function startSweeper<TDoc extends Expiring>(
  collection: Collection<TDoc>,
  clock: Clock,
  intervalMs: number,
  logger: StoreLogger,
): () => void {
  return repeat(intervalMs, () => sweepExpired(collection, clock).then(
    () => {},
    (error: unknown) => logger.warn("deleting expired documents failed; retrying next interval", { collection: collection.collectionName, error: String(error) }),
  ));
}

export async function sweepExpired<TDoc extends Expiring>(collection: Collection<TDoc>, clock: Clock): Promise<number> {
  const result = await collection.deleteMany({ expireAt: { $lte: new Date(clock.now()) } } as Filter<TDoc>);
  return result.deletedCount;
}
