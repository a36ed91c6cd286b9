import type { Cancel, Clock } from "../../lib/clock.js";
import type { MaybePromise } from "../../lib/maybe-promise.js";
import { MinHeap } from "../../lib/min-heap.js";
import type { CandidateBatch, ChannelState, NewChannel, Side, StoredCandidate } from "../channel.js";
import { isExpired, newChannelState, noCandidates, withCandidates } from "../channel.js";
import { admitAnswer, channelBytes, checkChannelBytes, refuseCandidates } from "../channel-rules.js";
import type {
  CandidateBatchResult,
  ChannelChange,
  ChannelStoreStats,
  ChannelListener,
  ChannelStore,
  StoreLimits,
  Unsubscribe,
} from "../store.js";
import { StoreError } from "../store.js";
import { Listeners } from "../listeners.js";

/**
 * The embedded store: channels in a Map of this process. States are
 * immutable snapshots, replaced whole on every change, so a listener may
 * keep the one it was handed. Expiry is exact: a channel past its expire
 * time is gone for every call, and a timer set for the earliest expire time
 * frees its memory and tells its watchers. The channel operations answer
 * synchronously: they return their result or throw their StoreError at once
 * (typed as the interface's MaybePromise, so a subclass may answer later).
 */
export class MemoryChannelStore implements ChannelStore {
  private readonly channels = new Map<string, ChannelState>();
  private readonly listeners = new Listeners<ChannelChange>();
  private readonly expiries = new MinHeap<string>();
  private sweepTimer: { at: number; cancel: Cancel } | undefined;
  /** Bytes every held channel counts (channelBytes), together; at most maxStoreBytes. */
  private heldBytes = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limits: StoreLimits,
  ) {}

  get size(): number {
    return this.channels.size;
  }

  /** Bytes all held channels count together (offer, answer and candidates). */
  get bytes(): number {
    return this.heldBytes;
  }

  createChannel(init: NewChannel): MaybePromise<ChannelState> {
    if (this.channels.size >= this.limits.maxChannels) {
      this.sweepExpired();
      if (this.channels.size >= this.limits.maxChannels) {
        throw new StoreError("channel-limit", init.id, `the server holds its maximum of ${this.limits.maxChannels} channels`);
      }
    }
    if (init.offer) refuseCandidates(init.id, [], false, init.offer.candidates.batch, this.limits);
    const state = this.admit(undefined, newChannelState(init));
    this.channels.set(state.id, state);
    this.expiries.push(state.expireTime, state.id);
    this.scheduleSweep();
    return state;
  }

  getChannel(id: string): MaybePromise<ChannelState | undefined> {
    return this.live(id);
  }

  setOffer(id: string, sdp: string, candidates: CandidateBatch = noCandidates): MaybePromise<ChannelState> {
    const state = this.require(id);
    if (state.answer) throw new StoreError("offer-locked", id);
    this.checkSide(state, "offerer", candidates.batch);
    const version = state.version + 1;
    return this.replace(state, withCandidates({ ...state, offer: { value: sdp, version }, version }, "offerer", candidates).state);
  }

  setAnswer(id: string, sdp: string, answererTokenHash: string, candidates: CandidateBatch = noCandidates): MaybePromise<ChannelState> {
    const state = this.require(id);
    admitAnswer(id, { hasOffer: state.offer !== undefined, hasAnswer: state.answer !== undefined });
    this.checkSide(state, "answerer", candidates.batch);
    const version = state.version + 1;
    const answered = { ...state, answer: { value: sdp, version }, answererTokenHash, version };
    return this.replace(state, withCandidates(answered, "answerer", candidates).state);
  }

  addCandidates(id: string, side: Side, batch: readonly StoredCandidate[], complete: boolean): MaybePromise<CandidateBatchResult> {
    const state = this.require(id);
    this.checkSide(state, side, batch);
    const applied = withCandidates(state, side, { batch, complete });
    if (applied.state === state) return { state, changed: false, added: 0, completed: false };
    return { ...applied, state: this.replace(state, applied.state), changed: true };
  }

  closeChannel(id: string, closedBy: Side): MaybePromise<void> {
    const state = this.require(id);
    this.forget(state);
    this.notify(id, { kind: "closed", closedBy, version: state.version + 1 });
    this.listeners.drop(id);
  }

  watchChannel(id: string, listener: ChannelListener): Unsubscribe {
    return this.listeners.add(id, listener);
  }

  async stats(): Promise<ChannelStoreStats> {
    this.sweepExpired();
    return { liveChannels: this.channels.size };
  }

  async close(): Promise<void> {
    this.sweepTimer?.cancel();
    this.sweepTimer = undefined;
  }

  /** Removes every channel past its expire time and tells its watchers. */
  sweepExpired(): void {
    const now = this.clock.now();
    for (let at = this.expiries.peekKey(); at !== undefined && at <= now; at = this.expiries.peekKey()) {
      const id = this.expiries.pop()!;
      const state = this.channels.get(id);
      if (state && isExpired(state, now)) this.expire(state);
    }
  }

  private live(id: string): ChannelState | undefined {
    const state = this.channels.get(id);
    if (state && isExpired(state, this.clock.now())) {
      this.expire(state);
      return undefined;
    }
    return state;
  }

  private checkSide(state: ChannelState, side: Side, batch: readonly StoredCandidate[]): void {
    if (batch.length === 0) return; // nothing to refuse (candidateRefusal of an empty batch)
    refuseCandidates(state.id, state.candidates[side].map((c) => c.value), state.candidatesComplete[side] !== undefined, batch, this.limits);
  }

  /**
   * `next` in place of `previous` (undefined for a new channel) if it fits
   * max-channel-bytes (else `channel-bytes`) and all channels together fit
   * max-store-bytes (else `store-bytes`); counts its bytes.
   */
  private admit(previous: ChannelState | undefined, next: ChannelState): ChannelState {
    const bytes = channelBytes(next);
    checkChannelBytes(next.id, bytes, this.limits);
    const held = this.heldBytes - (previous ? channelBytes(previous) : 0) + bytes;
    if (held > this.limits.maxStoreBytes) {
      throw new StoreError("store-bytes", next.id, `the channels of this process would hold ${held} bytes; at most ${this.limits.maxStoreBytes} (max-store-bytes)`);
    }
    this.heldBytes = held;
    return next;
  }

  private require(id: string): ChannelState {
    const state = this.live(id);
    if (!state) throw new StoreError("not-found", id);
    return state;
  }

  private replace(previous: ChannelState, next: ChannelState): ChannelState {
    this.channels.set(next.id, this.admit(previous, next));
    this.notify(next.id, { kind: "updated", state: next });
    return next;
  }

  private forget(state: ChannelState): void {
    this.channels.delete(state.id);
    this.heldBytes -= channelBytes(state);
  }

  private expire(state: ChannelState): void {
    this.forget(state);
    this.notify(state.id, { kind: "expired", version: state.version + 1 });
    this.listeners.drop(state.id);
  }

  private notify(id: string, change: ChannelChange): void {
    this.listeners.notify(id, change);
  }

  private scheduleSweep(): void {
    const next = this.expiries.peekKey();
    if (next === undefined) return;
    if (this.sweepTimer && this.sweepTimer.at <= next) return;
    this.sweepTimer?.cancel();
    const cancel = this.clock.schedule(next - this.clock.now(), () => {
      this.sweepTimer = undefined;
      this.sweepExpired();
      this.scheduleSweep();
    });
    this.sweepTimer = { at: next, cancel };
  }
}
