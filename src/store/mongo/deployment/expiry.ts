import type { Collection, Filter } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import type { StoreLogger } from "./options.js";
import { repeat } from "./repeat.js";

/** How expired documents leave the collection. */
export type ExpiryMode = "ttl-index" | "sweeper";

/** A document the database deletes once `expireAt` has passed. */
export interface Expiring {
  expireAt: Date;
}

/** Creates the index on `expireAt`: a TTL index where the server has them, else a plain one for the sweeper. Idempotent. */
export async function ensureExpiryIndex<TDoc extends Expiring>(collection: Collection<TDoc>, mode: ExpiryMode): Promise<void> {
  if (mode === "ttl-index") await collection.createIndex({ expireAt: 1 }, { name: "expireAt_ttl", expireAfterSeconds: 0 });
  else await collection.createIndex({ expireAt: 1 }, { name: "expireAt" });
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
