import { performance } from "node:perf_hooks";
import type { Collection } from "mongodb";
import { MongoServerError } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import type { CandidateBatch, ChannelState, NewChannel, Side, StoredCandidate } from "../../channel.js";
import { noCandidates } from "../../channel.js";
import { admitAnswer, checkChannelBytes, refuseCandidates, textBytes } from "../../channel-rules.js";
import type { CandidateBatchResult, ChannelListener, ChannelStore, ChannelStoreStats, StoreHealth, Unsubscribe } from "../../store.js";
import { guarded } from "../deployment/unavailable.js";
import { StoreError } from "../../store.js";
import type { ExpiryMode } from "../deployment/expiry.js";
import type { LimitedInserts } from "../deployment/limited-insert.js";
import type { MongoStoreOptions, WatchMode } from "../deployment/options.js";
import { tombstoneMs } from "../deployment/options.js";
import type { StoreRuntime } from "../deployment/store-runtime.js";
import { closeRuntime, runtimeHealth } from "../deployment/store-runtime.js";
import type { Companion } from "./candidate-writes.js";
import { applyCandidates } from "./candidate-writes.js";
import type { ChannelWrites } from "./channel-writes.js";
import type { ChannelDocument } from "./document.js";
import { heldBytes, newChannelDocument, toState } from "./document.js";
import type { WatchHub } from "./watch-hub.js";

export interface MongoChannelStoreDeps extends StoreRuntime<ChannelDocument> {
  readonly collection: Collection<ChannelDocument>;
  readonly writes: ChannelWrites;
  /** Where creates go, so that max-channels holds exactly (see limited-insert.ts). */
  readonly creates: LimitedInserts<ChannelDocument>;
  readonly clock: Clock;
  readonly options: MongoStoreOptions;
  readonly hub: WatchHub;
}

const duplicateKey = 11000;

/**
 * Channels in one MongoDB collection, shared by every process using it.
 * Every mutation is ONE conditional findOneAndUpdate whose filter holds all
 * its preconditions (live, not closed, not answered, no identical
 * candidate, side not complete, below the candidate limit and the byte
 * budget), so concurrent calls through any number of processes serialise
 * in the database: the first answer wins and limits hold. Only when the
 * filter matches nothing is the document read, to say why, with the same
 * rules the memory store applies (channel-rules.ts; the loop is in
 * candidate-writes.ts). Build it with openMongoStore.
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
    const { limits } = this.deps.options;
    if (init.offer) refuseCandidates(init.id, [], false, init.offer.candidates.batch, limits);
    const doc = newChannelDocument(init);
    checkChannelBytes(init.id, heldBytes(doc), limits);
    try {
      await this.deps.creates.insert(doc);
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
    const startedAt = performance.now();
    const doc = await this.deps.writes.findLive(id);
    if (!doc) return undefined;
    // A watch stream reads the channel right after subscribing: this tells the hub its expire time.
    this.deps.hub.observed(doc, startedAt, this.deps.clock.now());
    return toState(doc);
  }

  /** A new offer frees the earlier one's bytes: its update is conditioned on their number, read when there is an offer. */
  async setOffer(id: string, sdp: string, candidates: CandidateBatch = noCandidates): Promise<ChannelState> {
    const size = textBytes(sdp);
    const companion: Companion = {
      conditions: (current) => ({ answer: { $exists: false }, offerBytes: current?.offerBytes ?? { $exists: false } }),
      set: { offer: sdp, offerBytes: size },
      code: "offer",
      bytes: (current) => size - (current?.offerBytes ?? 0),
      refusal: (doc) => (doc.answer !== undefined ? new StoreError("offer-locked", id) : undefined),
    };
    return (await applyCandidates(this.deps, id, "offerer", candidates, companion)).state;
  }

  async setAnswer(id: string, sdp: string, answererTokenHash: string, candidates: CandidateBatch = noCandidates): Promise<ChannelState> {
    const companion: Companion = {
      conditions: () => ({ offer: { $exists: true }, answer: { $exists: false } }),
      set: { answer: sdp, answererTokenHash },
      code: "answer",
      bytes: () => textBytes(sdp),
      refusal: (doc) => {
        try {
          admitAnswer(id, { hasOffer: doc.offer !== undefined, hasAnswer: doc.answer !== undefined });
          return undefined;
        } catch (error) {
          return error as StoreError;
        }
      },
    };
    return (await applyCandidates(this.deps, id, "answerer", candidates, companion)).state;
  }

  addCandidates(id: string, side: Side, batch: readonly StoredCandidate[], complete: boolean): Promise<CandidateBatchResult> {
    return applyCandidates(this.deps, id, side, { batch, complete });
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

  /** Counts the channels of every process sharing the collection. */
  async stats(): Promise<ChannelStoreStats> {
    return { liveChannels: await guarded("*", () => this.deps.collection.countDocuments(this.deps.writes.liveFilter())) };
  }

  health(): Promise<StoreHealth> {
    return runtimeHealth(this.deps);
  }

  close(): Promise<void> {
    return closeRuntime(this.deps);
  }
}
