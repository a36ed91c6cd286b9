import { randomUUID } from "node:crypto";
import type { Collection, Db, Document } from "mongodb";
import { MongoServerError } from "mongodb";
import { KeyedSerializer } from "../../../lib/keyed-serializer.js";
import { StoreError } from "../../store.js";
import { guarded } from "./unavailable.js";

/**
 * What a guarded write adds to its update: a filter that refuses it when a
 * later lock holder already wrote the document, and the field that says it
 * wrote. Empty where updates are atomic.
 */
export interface Fence {
  readonly filter: Record<string, unknown>;
  readonly set: Record<string, unknown>;
}

/** How the writes to one document are kept from interleaving. */
export interface WriteGuard {
  readonly kind: "atomic-update" | "lease-lock";
  /**
   * Runs `write` with the fence its update must carry, or returns undefined
   * without running it when, while waiting for its turn, `stillApplies` says
   * its conditions no longer hold. A write the fence refused (null) is run
   * again under a new lock while its conditions still hold.
   */
  run<T>(id: string, write: (fence: Fence) => Promise<T | null>, stillApplies: () => Promise<boolean>): Promise<T | null | undefined>;
  /** Waits for work still going on after `run` returned (lock releases), before the client closes. */
  settle?(): Promise<void>;
}

const noFence: Fence = { filter: {}, set: {} };

/** MongoDB applies a conditional findOneAndUpdate atomically: nothing to add. */
export const atomicUpdates: WriteGuard = { kind: "atomic-update", run: (_id, write) => write(noFence) };

interface LockDocument {
  _id: string;
  owner: string;
  /** The fencing token of this holder: above every token of earlier holders of the key. */
  token: number;
  expireAt: Date;
}

const duplicateKey = 11000;

/** What a holder of `token` adds to its writes: applies only where no later holder wrote. */
function fenceOf(token: number): Fence {
  return { filter: { $or: [{ fence: { $exists: false } }, { fence: { $lt: token } }] }, set: { fence: token } };
}

/**
 * FerretDB 1.x evaluates an update's filter, then writes the document back
 * by `_id` alone, in two steps: concurrent conditional updates of one
 * document can both apply (two "first" answers). An insert of a duplicate
 * `_id` is refused atomically, though, so on FerretDB each write runs while
 * holding a lock document `{_id}` in a side collection. A lock whose holder
 * vanished (crash, or a pause longer than the lease) is taken over once its
 * lease ran out.
 *
 * Fencing: every holder gets a token above those of the holders before it
 * (the lease time in microseconds, made unique; a takeover happens a whole
 * lease after the old holder's token was taken, so it is larger as long as
 * the processes' clocks agree within a lease, which the lease itself needs).
 * A guarded write sets `fence` to its token and applies only where the
 * document's fence is below it, so a paused holder that wakes after the
 * takeover and after the new holder wrote cannot apply its write too.
 */
export class LeaseLock implements WriteGuard {
  readonly kind = "lease-lock";
  private lastToken = 0;
  /**
   * This process's writes of one id queue here before they ask for the lock:
   * they would only collide on the lock document and retry (an insert, a
   * count, a delete and a pause per try), where in turn each takes it at once.
   */
  private readonly local = new KeyedSerializer();
  /** Lock releases under way, per id: `run` returns without waiting for them; the next local write of the id does. */
  private readonly releases = new Map<string, Promise<void>>();

  constructor(
    private readonly locks: Collection<LockDocument>,
    /** Longer than any write may take; a holder silent for this long is presumed gone. */
    private readonly leaseMs: number,
    /** The real time in ms; injected by tests that force a takeover. */
    private readonly now: () => number = Date.now,
  ) {}

  static forCollection(db: Db, collection: string, leaseMs: number, now?: () => number): LeaseLock {
    return new LeaseLock(db.collection<LockDocument>(`${collection}.locks`), leaseMs, now);
  }

  /** The lock documents' collection, for documents written only under a lock (their `_id`s must differ from every lock key). */
  sideCollection<TDoc extends Document>(): Collection<TDoc> {
    return this.locks as unknown as Collection<TDoc>;
  }

  run<T>(id: string, write: (fence: Fence) => Promise<T | null>, stillApplies: () => Promise<boolean>): Promise<T | null | undefined> {
    return this.local.run(id, () => this.runLocked(id, write, stillApplies));
  }

  async settle(): Promise<void> {
    await Promise.all(this.releases.values());
  }

  private async runLocked<T>(id: string, write: (fence: Fence) => Promise<T | null>, stillApplies: () => Promise<boolean>): Promise<T | null | undefined> {
    await this.releases.get(id);
    const giveUpAt = this.now() + 2 * this.leaseMs;
    for (;;) {
      const owner = randomUUID();
      const token = await this.acquire(id, owner, stillApplies, giveUpAt);
      if (token === undefined) return undefined;
      try {
        const result = await write(fenceOf(token));
        if (result !== null || !(await stillApplies())) return result;
      } finally {
        this.release(id, owner);
      }
      // Fenced out: a later holder wrote meanwhile. The conditions still hold, so try again under a new lock.
    }
  }

  /** Deletes the lock without making the caller wait: one round trip less per write; only the next local write of `id` waits for it. */
  private release(id: string, owner: string): void {
    const done = this.locks.deleteOne({ _id: id, owner }).then(
      () => {},
      () => {},
    );
    this.releases.set(id, done);
    void done.then(() => {
      if (this.releases.get(id) === done) this.releases.delete(id);
    });
  }

  /**
   * Runs `work` holding the lock of `key`; `kept` says whether the lock was
   * still this holder's when it let go (false: its lease ran out and another
   * process took the lock over meanwhile, so the work may have overlapped).
   */
  async hold<T>(key: string, work: (fence: Fence) => Promise<T>): Promise<{ readonly value: T; readonly kept: boolean }> {
    const owner = randomUUID();
    const token = (await this.acquire(key, owner, async () => true, this.now() + 2 * this.leaseMs))!;
    let value: T;
    try {
      value = await work(fenceOf(token));
    } catch (error) {
      await this.locks.deleteOne({ _id: key, owner }).catch(() => {});
      throw error;
    }
    const released = await guarded(key, () => this.locks.deleteOne({ _id: key, owner }));
    return { value, kept: released.deletedCount === 1 };
  }

  /** Above every token this process handed out, and (by time) above every expired holder's. */
  private nextToken(): number {
    this.lastToken = Math.max(this.now() * 1000 + Math.floor(Math.random() * 1000), this.lastToken + 1);
    return this.lastToken;
  }

  /** The token once the lock is held; undefined when the write no longer applies (e.g. another answer won meanwhile). */
  private async acquire(id: string, owner: string, stillApplies: () => Promise<boolean>, giveUpAt: number): Promise<number | undefined> {
    for (let attempt = 1; ; attempt++) {
      const token = this.nextToken();
      try {
        await guarded(id, () => this.locks.insertOne({ _id: id, owner, token, expireAt: new Date(this.now() + this.leaseMs) }));
        return token;
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === duplicateKey)) throw error;
      }
      if (!(await stillApplies())) return undefined;
      await guarded(id, () => this.locks.deleteOne({ _id: id, expireAt: { $lte: new Date(this.now()) } }));
      if (this.now() > giveUpAt) throw new StoreError("unavailable", id, `${id} stayed locked for ${2 * this.leaseMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
    }
  }
}
