import type { Collection, Document, Filter, OptionalUnlessRequiredId } from "mongodb";
import { MongoBulkWriteError, MongoServerError } from "mongodb";
import { StoreError } from "../../store.js";
import { guarded } from "./unavailable.js";
import type { Fence, LeaseLock } from "./write-lock.js";

/** The lock key every create of a collection takes. */
const createKey = "#create";
/** The `_id` of the bound document, kept beside the lock documents. */
const boundKey = "#live-bound";
/** Creates that lost the lock to a takeover and were undone, before giving up. */
const maxCreateAttempts = 3;
/** Most creates one holder of the lock makes at once (one insertMany). */
const maxBatch = 100;
const duplicateKey = 11000;

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
 * An upper bound on the live documents, written only under the create lock:
 * every create adds to it; closes and expiries do not subtract (so it only
 * overestimates) until a create that would pass the limit by it counts
 * exactly and sets it to the count. `fence`: the token of the holder that
 * wrote it (a holder whose lease ran out cannot overwrite a later one's).
 */
interface LiveBound {
  _id: string;
  live: number;
  fence?: number;
}

interface PendingCreate<TDoc> {
  readonly doc: TDoc;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A limit on the live documents of a collection, exactly, across every
 * process sharing it (max-channels, max-rooms). Creates go through a lease
 * lock on one key; a process's concurrent creates queue here and the
 * holder makes up to `maxBatch` of them at once: under the lock it reads
 * the bound (one `_id` lookup), and only when the bound leaves too little
 * room counts the live documents (at most `max`, on the expireAt index);
 * then it inserts the batch and writes the new bound side by side. A holder
 * that finds, when letting go, that its lease ran out and another process
 * took the lock (so their bounds may have missed each other's inserts)
 * deletes what it inserted, drops the bound (the next create counts) and
 * tries again: no client ever holds a document beyond the limit. Cost per
 * batch: a lock insert and delete, the bound's read and write, one
 * insertMany; a count only near the limit. A create refused as a duplicate
 * `_id` fails with the driver's duplicate-key error.
 */
export class LimitedInserts<TDoc extends Document & { _id: string }> {
  private readonly queue: PendingCreate<TDoc>[] = [];
  private draining = false;
  private readonly bounds: Collection<LiveBound>;

  constructor(private readonly limit: CountedCollection<TDoc>) {
    this.bounds = limit.gate.sideCollection<LiveBound>();
  }

  insert(doc: TDoc): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ doc, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, maxBatch);
        try {
          await this.insertBatch(batch);
        } catch (error) {
          for (const create of batch) create.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async insertBatch(batch: readonly PendingCreate<TDoc>[]): Promise<void> {
    const { collection, gate } = this.limit;
    const first = batch[0]!.doc._id;
    for (let attempt = 1; attempt <= maxCreateAttempts; attempt++) {
      const { value: outcome, kept } = await gate.hold(createKey, (fence) => this.underLock(batch, fence));
      if (kept) {
        for (const create of batch) {
          const error = outcome.get(create);
          if (error) create.reject(error);
          else create.resolve();
        }
        return;
      }
      const ours = batch.filter((create) => outcome.has(create) && outcome.get(create) === undefined).map((create) => create.doc._id);
      await guarded(first, () => collection.deleteMany({ _id: { $in: ours } } as Filter<TDoc>));
      await guarded(first, () => this.bounds.deleteOne({ _id: boundKey }));
    }
    throw new StoreError("unavailable", first, `creating ${first} kept overlapping another process's create`);
  }

  /**
   * Under the lock: each create of the batch with its error, or undefined
   * when it went in. A create refused as a duplicate `_id` (a retry of one
   * that went through) gives its room to the next waiting create; a second
   * create of one `_id` in the batch shares the first one's fate.
   */
  private async underLock(batch: readonly PendingCreate<TDoc>[], fence: Fence): Promise<Map<PendingCreate<TDoc>, Error | undefined>> {
    const { collection, counted, max, refused } = this.limit;
    const first = batch[0]!.doc._id;
    const outcome = new Map<PendingCreate<TDoc>, Error | undefined>();
    const firstOfId = new Map<string, PendingCreate<TDoc>>();
    const waiting = batch.filter((create) => !firstOfId.has(create.doc._id) && firstOfId.set(create.doc._id, create));
    const bound = await guarded(first, () => this.bounds.findOne({ _id: boundKey }));
    let live = bound?.live;
    if (live === undefined || live + waiting.length > max) live = await guarded(first, () => collection.countDocuments(counted(), { limit: max }));
    const duplicate = () => new MongoServerError({ message: "E11000 duplicate key error", code: duplicateKey });
    let admitted = waiting.splice(0, Math.max(0, max - live));
    // Every create admitted below takes the room of one admitted here: the bound is an upper bound however many turn out duplicates.
    const writeBound =
      admitted.length === 0
        ? Promise.resolve()
        : guarded(first, () => this.bounds.updateOne({ _id: boundKey, ...fence.filter }, { $set: { live: live + admitted.length, ...fence.set } }, { upsert: true })).then(
            () => {},
            (error: unknown) => {
              // A later holder's bound (its fence above ours) refused this one: ours was taken over, which the release tells.
              if (!(error instanceof MongoServerError && error.code === duplicateKey)) throw error;
            },
          );
    const inserts = (async () => {
      while (admitted.length > 0) {
        let duplicates = 0;
        const docs = admitted.map((create) => create.doc as OptionalUnlessRequiredId<TDoc>);
        try {
          await guarded(first, () => collection.insertMany(docs, { ordered: false }));
        } catch (error) {
          const writeErrors = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [];
          if (writeErrors.length === 0 || writeErrors.some((e) => e.code !== duplicateKey)) throw error;
          for (const e of writeErrors) outcome.set(admitted[e.index]!, duplicate());
          duplicates = writeErrors.length;
        }
        for (const create of admitted) if (!outcome.has(create)) outcome.set(create, undefined);
        admitted = waiting.splice(0, duplicates);
      }
    })();
    await Promise.all([inserts, writeBound]);
    for (const create of waiting) outcome.set(create, refused(create.doc._id));
    for (const create of batch) {
      if (outcome.has(create)) continue;
      const fate = outcome.get(firstOfId.get(create.doc._id)!);
      outcome.set(create, fate === undefined || (fate instanceof MongoServerError && fate.code === duplicateKey) ? duplicate() : fate);
    }
    return outcome;
  }
}
