import type { Cancel, Clock } from "../../lib/clock.js";
import { MinHeap } from "../../lib/min-heap.js";
import type { CandidateBatch, ChannelState, NewChannel, Side, StoredCandidate } from "../channel.js";
import { candidateRefusal, isExpired, newChannelState, noCandidates, withCandidates } from "../channel.js";
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
 * frees its memory and tells its watchers.
 */
export class MemoryChannelStore implements ChannelStore {
  private readonly channels = new Map<string, ChannelState>();
  private readonly listeners = new Listeners<ChannelChange>();
  private readonly expiries = new MinHeap<string>();
  private sweepTimer: { at: number; cancel: Cancel } | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly limits: StoreLimits,
  ) {}

  get size(): number {
    return this.channels.size;
  }

  async createChannel(init: NewChannel): Promise<ChannelState> {
    if (this.channels.size >= this.limits.maxChannels) {
      this.sweepExpired();
      if (this.channels.size >= this.limits.maxChannels) {
        throw new StoreError("channel-limit", init.id, `the server holds its maximum of ${this.limits.maxChannels} channels`);
      }
    }
    if (init.offer) this.checkCandidates(init.id, [], false, init.offer.candidates.batch);
    const state = newChannelState(init);
    this.channels.set(state.id, state);
    this.expiries.push(state.expireTime, state.id);
    this.scheduleSweep();
    return state;
  }

  async getChannel(id: string): Promise<ChannelState | undefined> {
    return this.live(id);
  }

  async setOffer(id: string, sdp: string, candidates: CandidateBatch = noCandidates): Promise<ChannelState> {
    const state = this.require(id);
    if (state.answer) throw new StoreError("offer-locked", id);
    this.checkSide(state, "offerer", candidates.batch);
    const version = state.version + 1;
    return this.replace(withCandidates({ ...state, offer: { value: sdp, version }, version }, "offerer", candidates).state);
  }

  async setAnswer(id: string, sdp: string, answererTokenHash: string, candidates: CandidateBatch = noCandidates): Promise<ChannelState> {
    const state = this.require(id);
    if (!state.offer) throw new StoreError("no-offer", id);
    if (state.answer) throw new StoreError("already-answered", id);
    this.checkSide(state, "answerer", candidates.batch);
    const version = state.version + 1;
    const answered = { ...state, answer: { value: sdp, version }, answererTokenHash, version };
    return this.replace(withCandidates(answered, "answerer", candidates).state);
  }

  async addCandidates(id: string, side: Side, batch: readonly StoredCandidate[], complete: boolean): Promise<CandidateBatchResult> {
    const state = this.require(id);
    this.checkSide(state, side, batch);
    const applied = withCandidates(state, side, { batch, complete });
    if (applied.state === state) return { state, changed: false, added: 0, completed: false };
    return { ...applied, state: this.replace(applied.state), changed: true };
  }

  async closeChannel(id: string, closedBy: Side): Promise<void> {
    const state = this.require(id);
    this.channels.delete(id);
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
    const existing = state.candidates[side].map((c) => c.value);
    this.checkCandidates(state.id, existing, state.candidatesComplete[side] !== undefined, batch);
  }

  private checkCandidates(id: string, existing: readonly StoredCandidate[], complete: boolean, batch: readonly StoredCandidate[]): void {
    const refusal = candidateRefusal(existing, complete, batch, this.limits.maxCandidatesPerSide);
    if (refusal === "candidate-limit") {
      throw new StoreError(refusal, id, `a side holds at most ${this.limits.maxCandidatesPerSide} candidates`);
    }
    if (refusal) throw new StoreError(refusal, id);
  }

  private require(id: string): ChannelState {
    const state = this.live(id);
    if (!state) throw new StoreError("not-found", id);
    return state;
  }

  private replace(state: ChannelState): ChannelState {
    this.channels.set(state.id, state);
    this.notify(state.id, { kind: "updated", state });
    return state;
  }

  private expire(state: ChannelState): void {
    this.channels.delete(state.id);
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
