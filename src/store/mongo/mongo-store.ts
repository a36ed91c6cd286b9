import type { Collection, Filter, MongoClient, UpdateFilter } from "mongodb";
import { MongoServerError } from "mongodb";
import type { Clock } from "../../lib/clock.js";
import type { CandidateBatch, ChannelState, NewChannel, Side, StoredCandidate } from "../channel.js";
import { candidateRefusal, freshCandidates, noCandidates } from "../channel.js";
import type { CandidateBatchResult, ChannelListener, ChannelStore, ChannelStoreStats, StoreHealth, Unsubscribe } from "../store.js";
import { StoreError } from "../store.js";
import type { ChangeStreamFeed } from "./change-stream-feed.js";
import type { ChangeCode, ChannelDocument } from "./document.js";
import { candidateChange, candidateKey, completeChange, newChannelDocument, storedCandidate, toState } from "./document.js";
import type { ExpiryMode } from "./expiry.js";
import type { MongoStoreOptions, WatchMode } from "./options.js";
import { tombstoneMs } from "./options.js";
import { guarded } from "./unavailable.js";
import type { WatchHub } from "./watch-hub.js";
import type { WriteGuard } from "./write-lock.js";

export interface MongoStoreParts {
  readonly client: MongoClient;
  readonly collection: Collection<ChannelDocument>;
  readonly clock: Clock;
  readonly options: MongoStoreOptions;
  readonly hub: WatchHub;
  readonly watchMode: WatchMode;
  readonly expiryMode: ExpiryMode;
  readonly changeStream?: ChangeStreamFeed<ChannelDocument>;
  readonly writeGuard: WriteGuard;
  /** Stops the poller and the sweeper. */
  readonly stopTimers: () => void;
}

/** A description written in the same update as a batch of candidates, with its own preconditions. */
interface Companion {
  readonly conditions: Filter<ChannelDocument>;
  readonly set: Record<string, unknown>;
  readonly code: ChangeCode;
  /** Why the conditions do not hold on this live document, or undefined when they do. */
  readonly refusal: (doc: ChannelDocument) => StoreError | undefined;
}

const duplicateKey = 11000;
/** Tries of one addCandidates against concurrent changes of the same side (each retry follows such a change). */
const maxBatchAttempts = 8;

/**
 * Channels in one MongoDB collection, shared by every process using it.
 * Every mutation is ONE conditional findOneAndUpdate whose filter holds all
 * its preconditions (live, not closed, not answered, no identical
 * candidate, side not complete, below the candidate limit), so concurrent
 * calls through any number of processes serialise in the database: the
 * first answer wins and limits hold. Only when the filter matches nothing
 * is the document read, to say why. (On FerretDB, whose updates are not
 * atomic, a lease lock per channel serialises them; see write-lock.ts.)
 * Build it with openMongoStore.
 */
export class MongoChannelStore implements ChannelStore {
  constructor(private readonly parts: MongoStoreParts) {}

  /** How watchers learn of changes made elsewhere: `change-stream` or `poll`. */
  get watchMode(): WatchMode {
    return this.parts.watchMode;
  }

  get expiryMode(): ExpiryMode {
    return this.parts.expiryMode;
  }

  async createChannel(init: NewChannel): Promise<ChannelState> {
    const max = this.parts.options.limits.maxCandidatesPerSide;
    if (init.offer && candidateRefusal([], false, init.offer.candidates.batch, max)) {
      throw new StoreError("candidate-limit", init.id, `a side holds at most ${max} candidates`);
    }
    const doc = newChannelDocument(init);
    try {
      await guarded(init.id, () => this.parts.collection.insertOne(doc));
    } catch (error) {
      // Ids are random; a clash means a retry of a create that went through.
      if (!(error instanceof MongoServerError && error.code === duplicateKey)) throw error;
      const existing = await this.getChannel(init.id);
      if (existing?.offererTokenHash !== init.offererTokenHash) throw error;
      return existing;
    }
    return toState(doc);
  }

  async getChannel(id: string): Promise<ChannelState | undefined> {
    const doc = await this.findLive(id);
    if (!doc) return undefined;
    // A watch stream reads the channel right after subscribing: this tells the hub its expire time.
    this.parts.hub.deliver(doc, this.parts.clock.now());
    return toState(doc);
  }

  async setOffer(id: string, sdp: string, candidates: CandidateBatch = noCandidates): Promise<ChannelState> {
    const companion: Companion = {
      conditions: { answer: { $exists: false } },
      set: { offer: sdp },
      code: "offer",
      refusal: (doc) => (doc.answer !== undefined ? new StoreError("offer-locked", id) : undefined),
    };
    return (await this.applyCandidates(id, "offerer", candidates, companion)).state;
  }

  async setAnswer(id: string, sdp: string, answererTokenHash: string, candidates: CandidateBatch = noCandidates): Promise<ChannelState> {
    const companion: Companion = {
      conditions: { offer: { $exists: true }, answer: { $exists: false } },
      set: { answer: sdp, answererTokenHash },
      code: "answer",
      refusal: (doc) =>
        doc.offer === undefined ? new StoreError("no-offer", id) : doc.answer !== undefined ? new StoreError("already-answered", id) : undefined,
    };
    return (await this.applyCandidates(id, "answerer", candidates, companion)).state;
  }

  addCandidates(id: string, side: Side, batch: readonly StoredCandidate[], complete: boolean): Promise<CandidateBatchResult> {
    return this.applyCandidates(id, side, { batch, complete });
  }

  /**
   * First tries the update as if none of the candidates were stored yet; its
   * filter refuses it if one is, if the side is complete, if the limit would
   * be passed, or if the companion's conditions fail. Only then is the
   * document read, to drop the duplicates or say why, and the update tried
   * again with what is left. The companion's change comes first in version order.
   */
  private async applyCandidates(id: string, side: Side, { batch, complete }: CandidateBatch, companion?: Companion): Promise<CandidateBatchResult> {
    const max = this.parts.options.limits.maxCandidatesPerSide;
    let current: ChannelDocument | undefined;
    for (let attempt = 0; attempt < maxBatchAttempts; attempt++) {
      const refusal = current && companion?.refusal(current);
      if (refusal) throw refusal;
      const fresh = freshCandidates(current?.candidates[side] ?? [], batch);
      if (!current && (fresh.length > max || (fresh.length === 0 && !complete && !companion))) {
        current = await this.requireLive(id); // decided by the stored state alone
        continue;
      }
      const alreadyComplete = current?.changes.includes(completeChange(side)) ?? false;
      if (fresh.length > 0 && alreadyComplete) throw new StoreError("candidates-complete", id);
      if ((current?.candidates[side].length ?? 0) + fresh.length > max) {
        throw new StoreError("candidate-limit", id, `a side holds at most ${max} candidates`);
      }
      const completed = complete && !alreadyComplete;
      if (fresh.length === 0 && !completed && !companion) return { state: toState(current!), changed: false, added: 0, completed: false };
      const keys = fresh.map(candidateKey);
      const conditions: Filter<ChannelDocument> = { ...companion?.conditions };
      if (fresh.length > 0 || completed) conditions.changes = { $ne: completeChange(side) };
      if (fresh.length > 0) {
        Object.assign(conditions, {
          [`candidateKeys.${side}`]: { $nin: keys },
          [`candidates.${side}.${max - fresh.length}`]: { $exists: false },
        });
      }
      const push = fresh.length > 0 ? { [`candidates.${side}`]: { $each: fresh.map(storedCandidate) }, [`candidateKeys.${side}`]: { $each: keys } } : {};
      const codes = [...(companion ? [companion.code] : []), ...fresh.map(() => candidateChange(side)), ...(completed ? [completeChange(side)] : [])];
      const doc = await this.mutate(id, conditions, { $push: push, ...(companion && { $set: companion.set }) }, codes);
      if (doc) return { state: toState(doc), changed: true, added: fresh.length, completed };
      current = await this.requireLive(id);
    }
    throw new StoreError("unavailable", id, `channel ${id}: ${maxBatchAttempts} concurrent changes in a row kept these candidates from being added`);
  }

  async closeChannel(id: string, closedBy: Side): Promise<void> {
    // The document stays as a tombstone for a while so that watchers in other processes see "closed".
    const tombstoneUntil = new Date(this.parts.clock.now() + tombstoneMs);
    const doc = await this.mutate(id, {}, { $set: { closedBy, expireAt: tombstoneUntil } }, "close");
    if (!doc) throw new StoreError("not-found", id);
  }

  watchChannel(id: string, listener: ChannelListener): Unsubscribe {
    return this.parts.hub.add(id, listener);
  }

  async health(): Promise<StoreHealth> {
    const details = { store: "mongodb", watchMode: this.parts.watchMode, expiry: this.parts.expiryMode, writes: this.parts.writeGuard.kind };
    try {
      await guarded("*", () => this.parts.client.db(this.parts.options.database).command({ ping: 1 }));
      return { ready: true, details };
    } catch (error) {
      // A state, never the driver's text: /healthz is public, and a driver message can name hosts or users.
      return { ready: false, details: { ...details, error: error instanceof StoreError ? "unreachable" : "failed" } };
    }
  }

  /** Counts the channels of every process sharing the collection. */
  async stats(): Promise<ChannelStoreStats> {
    const live = { expireAt: { $gt: new Date(this.parts.clock.now()) }, closedBy: { $exists: false } };
    return { liveChannels: await guarded("*", () => this.parts.collection.countDocuments(live)) };
  }

  async close(): Promise<void> {
    this.parts.stopTimers();
    await this.parts.changeStream?.close();
    await this.parts.client.close();
  }

  private liveFilter(id: string): Filter<ChannelDocument> {
    return { _id: id, expireAt: { $gt: new Date(this.parts.clock.now()) }, closedBy: { $exists: false } };
  }

  private findLive(id: string): Promise<ChannelDocument | null> {
    return guarded(id, () => this.parts.collection.findOne(this.liveFilter(id)));
  }

  private async requireLive(id: string): Promise<ChannelDocument> {
    const doc = await this.findLive(id);
    if (!doc) throw new StoreError("not-found", id);
    return doc;
  }

  /**
   * Applies `update` plus one version step per change code, if the channel
   * is live and `conditions` hold; null when they do not. Local watchers hear of the
   * change at once; other processes' watchers through their feed.
   */
  private async mutate(
    id: string,
    conditions: Filter<ChannelDocument>,
    update: Pick<UpdateFilter<ChannelDocument>, "$set" | "$push">,
    change: ChangeCode | readonly ChangeCode[],
  ): Promise<ChannelDocument | null> {
    const filter = { ...this.liveFilter(id), ...conditions } as Filter<ChannelDocument>;
    const codes = typeof change === "string" ? [change] : change;
    const changes = codes.length === 1 ? codes[0] : { $each: codes };
    const step = { ...update, $inc: { version: codes.length }, $push: { ...update.$push, changes } } as UpdateFilter<ChannelDocument>;
    const { collection, writeGuard } = this.parts;
    const stillApplies = async () => (await guarded(id, () => collection.countDocuments(filter, { limit: 1 }))) > 0;
    const write = () => guarded(id, () => collection.findOneAndUpdate(filter, step, { returnDocument: "after" }));
    const doc = (await writeGuard.run(id, write, stillApplies)) ?? null;
    if (doc) this.parts.hub.deliver(doc, this.parts.clock.now());
    return doc;
  }
}
