import type { Collection } from "mongodb";
import { StoreError } from "../../store.js";
import { guarded } from "../deployment/unavailable.js";
import type { LeaseLock } from "../deployment/write-lock.js";
import type { ChannelDocument } from "./document.js";
import type { ChannelWrites } from "./channel-writes.js";

/** The lock key every create of the collection takes. */
const createKey = "#create";
/** Creates that lost the lock to a takeover and were undone, before giving up. */
const maxCreateAttempts = 3;

/**
 * max-channels, exactly, across every process sharing the collection:
 * creates go one at a time through a lease lock on one key (in
 * `<collection>.locks`, on any deployment), and under it count the live
 * channels (at most max, on the expireAt index) and insert. A holder that
 * finds, when letting go, that its lease ran out and another process took
 * the lock (so their counts may have missed each other's insert) deletes
 * the channel it inserted and tries again: no client ever holds a channel
 * beyond the limit. Cost: a lock insert and delete, and one count, per create.
 */
export async function insertWithinLimit(
  collection: Collection<ChannelDocument>,
  doc: ChannelDocument,
  maxChannels: number,
  gate: LeaseLock,
  writes: ChannelWrites,
): Promise<void> {
  for (let attempt = 1; attempt <= maxCreateAttempts; attempt++) {
    const { kept } = await gate.hold(createKey, async () => {
      const live = await guarded(doc._id, () => collection.countDocuments(writes.liveFilter(), { limit: maxChannels }));
      if (live >= maxChannels) throw new StoreError("channel-limit", doc._id, `the store holds its maximum of ${maxChannels} channels`);
      await guarded(doc._id, () => collection.insertOne(doc));
    });
    if (kept) return;
    await guarded(doc._id, () => collection.deleteOne({ _id: doc._id, version: 1 }));
  }
  throw new StoreError("unavailable", doc._id, `creating channel ${doc._id} kept overlapping another process's create`);
}
