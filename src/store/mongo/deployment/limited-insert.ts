import type { Collection, Document, Filter, OptionalUnlessRequiredId } from "mongodb";
import { StoreError } from "../../store.js";
import { guarded } from "./unavailable.js";
import type { LeaseLock } from "./write-lock.js";

/** The lock key every create of a collection takes. */
const createKey = "#create";
/** Creates that lost the lock to a takeover and were undone, before giving up. */
const maxCreateAttempts = 3;

export interface CountedCollection<TDoc extends Document & { _id: string }> {
  readonly collection: Collection<TDoc>;
  /** The documents that count against the limit (the live ones). */
  readonly counted: () => Filter<TDoc>;
  readonly max: number;
  /** The creates of the collection take this lock (in `<collection>.locks`, on any deployment). */
  readonly gate: LeaseLock;
  /** The error of a create past the limit. */
  readonly refused: (id: string) => Error;
}

/**
 * A limit on the live documents of a collection, exactly, across every
 * process sharing it (max-channels, max-rooms): creates go one at a time
 * through a lease lock on one key, and under it count the live documents
 * (at most `max`, on the expireAt index) and insert. A holder that finds,
 * when letting go, that its lease ran out and another process took the
 * lock (so their counts may have missed each other's insert) deletes what
 * it inserted and tries again: no client ever holds a document beyond the
 * limit. Cost per create: a lock insert and delete and one count. An
 * insert refused as a duplicate `_id` throws the driver's error.
 */
export async function insertWithinLimit<TDoc extends Document & { _id: string }>(limit: CountedCollection<TDoc>, doc: TDoc): Promise<void> {
  const { collection, counted, max, gate, refused } = limit;
  for (let attempt = 1; attempt <= maxCreateAttempts; attempt++) {
    const { kept } = await gate.hold(createKey, async () => {
      const live = await guarded(doc._id, () => collection.countDocuments(counted(), { limit: max }));
      if (live >= max) throw refused(doc._id);
      await guarded(doc._id, () => collection.insertOne(doc as OptionalUnlessRequiredId<TDoc>));
    });
    if (kept) return;
    await guarded(doc._id, () => collection.deleteOne(doc as Filter<TDoc>));
  }
  throw new StoreError("unavailable", doc._id, `creating ${doc._id} kept overlapping another process's create`);
}
