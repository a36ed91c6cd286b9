import type { Collection } from "mongodb";
import { MongoServerError } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import type { ChannelState, NewChannel, Side, StoredCandidate } from "../../channel.js";
import { freshCandidates } from "../../channel.js";
import { admitAnswer, admitCandidates, checkChannelBytes, textBytes } from "../../channel-rules.js";
import type { CandidateBatchResult, ChannelListener, ChannelStore, StoreHealth, Unsubscribe } from "../../store.js";
import { StoreError } from "../../store.js";
import type { StoreRuntime } from "../deployment/store-runtime.js";
import { closeRuntime, runtimeHealth } from "../deployment/store-runtime.js";
import type { ExpiryMode } from "../deployment/expiry.js";
import type { MongoStoreOptions, WatchMode } from "../deployment/options.js";
import { tombstoneMs } from "../deployment/options.js";
import type { LeaseLock } from "../deployment/write-lock.js";
import { insertWithinLimit } from "../deployment/limited-insert.js";
import type { ChannelWrites } from "./channel-writes.js";
import { bytesRoom } from "./channel-writes.js";
import type { ChannelDocument } from "./document.js";
import { candidateChange, candidateKey, completeChange, heldBytes, newChannelDocument, storedCandidate, toState } from "./document.js";
import type { WatchHub } from "./watch-hub.js";

export interface MongoChannelStoreDeps extends StoreRuntime<ChannelDocument> {
  readonly collection: Collection<ChannelDocument>;
  readonly writes: ChannelWrites;
  /** The lock every create takes, so that max-channels holds exactly (see limited-insert.ts). */
  readonly createGate: LeaseLock;
  readonly clock: Clock;
  readonly options: MongoStoreOptions;
  readonly hub: WatchHub;
}

const duplicateKey = 11000;
/** Tries of one addCandidates or setOffer against concurrent changes of the same channel (each retry follows such a change). */
const maxAttempts = 8;

/**
 * Channels in one MongoDB collection, shared by every process using it.
 * Every mutation is ONE conditional findOneAndUpdate whose filter holds all
 * its preconditions (live, not closed, not answered, no identical
 * candidate, side not complete, below the candidate limit and the byte
 * budget), so concurrent calls through any number of processes serialise
 * in the database: the first answer wins and limits hold. Only when the
 * filter matches nothing is the document read, to say why, with the same
 * rules the memory store applies (channel-rules.ts). Build it with openMongoStore.
 */
export class MongoChannelStore implements ChannelStore {
  constructor(private readonly deps: MongoChannelStoreDeps) {}

  /** How watchers learn of changes made elsewhere: `change-stream` or `poll`. */
  get watchMode(): WatchMode {
    return this.deps.watchMode;
  }

  get expiryMode(): ExpiryMode {
    return this.deps.deployment.concessions.expiry;
  }

  async createChannel(init: NewChannel): Promise<ChannelState> {
    const doc = newChannelDocument(init);
    try {
      const max = this.deps.options.limits.maxChannels;
      const refused = (id: string) => new StoreError("channel-limit", id, `the store holds its maximum of ${max} channels`);
      await insertWithinLimit({ collection: this.deps.collection, counted: () => this.deps.writes.liveFilter(), max, gate: this.deps.createGate, refused }, doc);
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
    const doc = await this.deps.writes.findLive(id);
    if (!doc) return undefined;
    // A watch stream reads the channel right after subscribing: this tells the hub its expire time.
    this.deps.hub.publish(doc, this.deps.clock.now());
    return toState(doc);
  }

  /** An offer replaces the earlier one: the update is conditioned on the earlier one's size, read when there is one. */
  async setOffer(id: string, sdp: string): Promise<ChannelState> {
    const max = this.deps.options.limits.maxChannelBytes;
    const size = textBytes(sdp);
    let current: ChannelDocument | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (current?.answer !== undefined) throw new StoreError("offer-locked", id);
      const freed = current?.offerBytes ?? 0;
      if (current) checkChannelBytes(id, heldBytes(current), size, this.deps.options.limits, freed);
      const conditions = { answer: { $exists: false }, offerBytes: current?.offerBytes ?? { $exists: false }, ...bytesRoom(max, size - freed) };
      const update = { $set: { offer: sdp, offerBytes: size }, $inc: { bytes: size - freed } };
      const doc = await this.deps.writes.mutate(id, conditions, update, "offer");
      if (doc) return toState(doc);
      current = await this.deps.writes.requireLive(id);
    }
    throw new StoreError("unavailable", id, `channel ${id}: ${maxAttempts} concurrent offers in a row kept this one from being set`);
  }

  async setAnswer(id: string, sdp: string, answererTokenHash: string): Promise<ChannelState> {
    const size = textBytes(sdp);
    const conditions = { offer: { $exists: true }, answer: { $exists: false }, ...bytesRoom(this.deps.options.limits.maxChannelBytes, size) };
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const doc = await this.deps.writes.mutate(id, conditions, { $set: { answer: sdp, answererTokenHash }, $inc: { bytes: size } }, "answer");
      if (doc) return toState(doc);
      const current = await this.deps.writes.requireLive(id);
      admitAnswer(id, { hasOffer: current.offer !== undefined, hasAnswer: current.answer !== undefined });
      checkChannelBytes(id, heldBytes(current), size, this.deps.options.limits);
    }
    throw new StoreError("unavailable", id, `channel ${id}: ${maxAttempts} concurrent changes in a row kept this answer from being set`);
  }

  /**
   * First tries the update as if none of the candidates were stored yet; its
   * filter refuses it if one is, if the side is complete, or if a limit
   * would be passed. Only then is the document read, to drop the duplicates
   * or say why, and the update tried again with what is left.
   */
  async addCandidates(id: string, side: Side, batch: readonly StoredCandidate[], complete: boolean): Promise<CandidateBatchResult> {
    const { limits } = this.deps.options;
    let current: ChannelDocument | undefined;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const fresh = freshCandidates(current?.candidates[side] ?? [], batch);
      if (!current && (fresh.length > limits.maxCandidatesPerSide || (fresh.length === 0 && !complete))) {
        current = await this.deps.writes.requireLive(id); // decided by the stored state alone
        continue;
      }
      const alreadyComplete = current?.changes.includes(completeChange(side)) ?? false;
      const holding = { count: current?.candidates[side].length ?? 0, complete: alreadyComplete, channelBytes: current ? heldBytes(current) : 0 };
      const added = admitCandidates(id, holding, fresh, limits);
      const completed = complete && !alreadyComplete;
      if (fresh.length === 0 && !completed) return { state: toState(current!), changed: false, added: 0, completed: false };
      const keys = fresh.map(candidateKey);
      const conditions = { changes: { $ne: completeChange(side) } };
      if (fresh.length > 0) {
        Object.assign(conditions, {
          [`candidateKeys.${side}`]: { $nin: keys },
          [`candidates.${side}.${limits.maxCandidatesPerSide - fresh.length}`]: { $exists: false },
          ...bytesRoom(limits.maxChannelBytes, added),
        });
      }
      const push = fresh.length > 0 ? { [`candidates.${side}`]: { $each: fresh.map(storedCandidate) }, [`candidateKeys.${side}`]: { $each: keys } } : {};
      const codes = [...fresh.map(() => candidateChange(side)), ...(completed ? [completeChange(side)] : [])];
      const doc = await this.deps.writes.mutate(id, conditions, { $push: push, $inc: { bytes: added } }, codes);
      if (doc) return { state: toState(doc), changed: true, added: fresh.length, completed };
      current = await this.deps.writes.requireLive(id);
    }
    throw new StoreError("unavailable", id, `channel ${id}: ${maxAttempts} concurrent changes in a row kept these candidates from being added`);
  }

  async closeChannel(id: string, closedBy: Side): Promise<void> {
    // The document stays as a tombstone for a while so that watchers in other processes see "closed".
    const tombstoneUntil = new Date(this.deps.clock.now() + tombstoneMs);
    const doc = await this.deps.writes.mutate(id, {}, { $set: { closedBy, expireAt: tombstoneUntil } }, "close");
    if (!doc) throw new StoreError("not-found", id);
  }

  watchChannel(id: string, listener: ChannelListener): Unsubscribe {
    return this.deps.hub.add(id, listener);
  }

  health(): Promise<StoreHealth> {
    return runtimeHealth(this.deps);
  }

  close(): Promise<void> {
    return closeRuntime(this.deps);
  }
}
