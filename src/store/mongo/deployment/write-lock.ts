import { randomUUID } from "node:crypto";
import type { Collection, Db } from "mongodb";
import { MongoServerError } from "mongodb";
import { StoreError } from "../../store.js";
import { guarded } from "./unavailable.js";

/** How the writes to one channel are kept from interleaving. */
export interface WriteGuard {
  readonly kind: "atomic-update" | "lease-lock";
  /**
   * Runs `write`, or returns undefined without running it when, while
   * waiting for its turn, `stillApplies` says its conditions no longer hold.
   */
  run<T>(channelId: string, write: () => Promise<T>, stillApplies: () => Promise<boolean>): Promise<T | undefined>;
}

/** MongoDB applies a conditional findOneAndUpdate atomically: nothing to add. */
export const atomicUpdates: WriteGuard = { kind: "atomic-update", run: (_id, write) => write() };

interface LockDocument {
  _id: string;
  owner: string;
  expireAt: Date;
}

const duplicateKey = 11000;

/**
 * FerretDB 1.x evaluates an update's filter, then writes the document back
 * by `_id` alone, in two steps: concurrent conditional updates of one
 * document can both apply (two "first" answers). An insert of a duplicate
 * `_id` is refused atomically, though, so on FerretDB each channel write
 * runs while holding a lock document `{_id: channelId}` in a side
 * collection. A lock whose holder vanished (crash) is taken over once its
 * lease ran out. Leases use the real time, whatever clock the store uses.
 */
export class LeaseLock implements WriteGuard {
  readonly kind = "lease-lock";

  constructor(
    private readonly locks: Collection<LockDocument>,
    /** Longer than any write may take; a holder silent for this long is presumed gone. */
    private readonly leaseMs: number,
  ) {}

  static forCollection(db: Db, collection: string, leaseMs: number): LeaseLock {
    return new LeaseLock(db.collection<LockDocument>(`${collection}.locks`), leaseMs);
  }

  async run<T>(channelId: string, write: () => Promise<T>, stillApplies: () => Promise<boolean>): Promise<T | undefined> {
    const owner = randomUUID();
    if (!(await this.acquire(channelId, owner, stillApplies))) return undefined;
    try {
      return await write();
    } finally {
      await this.locks.deleteOne({ _id: channelId, owner }).catch(() => {});
    }
  }

  /** True once the lock is held; false when the write no longer applies (e.g. another answer won meanwhile). */
  private async acquire(channelId: string, owner: string, stillApplies: () => Promise<boolean>): Promise<boolean> {
    const giveUpAt = Date.now() + 2 * this.leaseMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await guarded(channelId, () => this.locks.insertOne({ _id: channelId, owner, expireAt: new Date(Date.now() + this.leaseMs) }));
        return true;
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === duplicateKey)) throw error;
      }
      if (!(await stillApplies())) return false;
      await guarded(channelId, () => this.locks.deleteOne({ _id: channelId, expireAt: { $lte: new Date() } }));
      if (Date.now() > giveUpAt) throw new StoreError("unavailable", channelId, `channel ${channelId} stayed locked for ${2 * this.leaseMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
    }
  }
}
