import type { Collection, Filter, MongoClient, UpdateFilter } from "mongodb";
import { MongoServerError } from "mongodb";
import type { Clock } from "../../lib/clock.js";
import type { ChannelState, NewChannel, Side, StoredCandidate } from "../channel.js";
import type { ChannelListener, ChannelStore, MutationResult, StoreHealth, Unsubscribe } from "../store.js";
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

const duplicateKey = 11000;

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

  async setOffer(id: string, sdp: string): Promise<ChannelState> {
    const doc = await this.mutate(id, { answer: { $exists: false } }, { $set: { offer: sdp } }, "offer");
    if (doc) return toState(doc);
    await this.requireLive(id);
    throw new StoreError("offer-locked", id);
  }

  async setAnswer(id: string, sdp: string, answererTokenHash: string): Promise<ChannelState> {
    const doc = await this.mutate(
      id,
      { offer: { $exists: true }, answer: { $exists: false } },
      { $set: { answer: sdp, answererTokenHash } },
      "answer",
    );
    if (doc) return toState(doc);
    const current = await this.requireLive(id);
    throw new StoreError(current.offer === undefined ? "no-offer" : "already-answered", id);
  }

  async addCandidate(id: string, side: Side, candidate: StoredCandidate): Promise<MutationResult> {
    const key = candidateKey(candidate);
    const max = this.parts.options.limits.maxCandidatesPerSide;
    const doc = await this.mutate(
      id,
      {
        [`candidateKeys.${side}`]: { $ne: key },
        changes: { $ne: completeChange(side) },
        [`candidates.${side}.${max - 1}`]: { $exists: false },
      },
      { $push: { [`candidates.${side}`]: storedCandidate(candidate), [`candidateKeys.${side}`]: key } },
      candidateChange(side),
    );
    if (doc) return { state: toState(doc), changed: true };
    const current = await this.requireLive(id);
    if (current.candidateKeys[side].includes(key)) return { state: toState(current), changed: false };
    if (current.changes.includes(completeChange(side))) throw new StoreError("candidates-complete", id);
    throw new StoreError("candidate-limit", id, `a side holds at most ${max} candidates`);
  }

  async completeCandidates(id: string, side: Side): Promise<MutationResult> {
    const doc = await this.mutate(id, { changes: { $ne: completeChange(side) } }, {}, completeChange(side));
    if (doc) return { state: toState(doc), changed: true };
    return { state: toState(await this.requireLive(id)), changed: false };
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
      return { ready: false, details: { ...details, error: error instanceof StoreError ? "unreachable" : String(error) } };
    }
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
   * Applies `update` plus one version step, if the channel is live and
   * `conditions` hold; null when they do not. Local watchers hear of the
   * change at once; other processes' watchers through their feed.
   */
  private async mutate(
    id: string,
    conditions: Filter<ChannelDocument>,
    update: Pick<UpdateFilter<ChannelDocument>, "$set" | "$push">,
    change: ChangeCode,
  ): Promise<ChannelDocument | null> {
    const filter = { ...this.liveFilter(id), ...conditions } as Filter<ChannelDocument>;
    const step = { ...update, $inc: { version: 1 }, $push: { ...update.$push, changes: change } } as UpdateFilter<ChannelDocument>;
    const { collection, writeGuard } = this.parts;
    const stillApplies = async () => (await guarded(id, () => collection.countDocuments(filter, { limit: 1 }))) > 0;
    const write = () => guarded(id, () => collection.findOneAndUpdate(filter, step, { returnDocument: "after" }));
    const doc = (await writeGuard.run(id, write, stillApplies)) ?? null;
    if (doc) this.parts.hub.deliver(doc, this.parts.clock.now());
    return doc;
  }
}
