import type { MaybePromise } from "../lib/maybe-promise.js";
import { andThen } from "../lib/maybe-promise.js";
import type { CandidateBatch, ChannelState, NewChannel, Side, StoredCandidate } from "./channel.js";

/**
 * Where channels live. Every mutation is atomic: it either applies whole,
 * with the version raised by one for each change it records (one, except
 * for addCandidates), or fails with a StoreError and changes nothing. A
 * channel past its expire time is gone for every call.
 *
 * The channel operations (`channelOperations`) may answer synchronously:
 * the memory store returns its result, or throws its StoreError, at once
 * (no promise and no microtask per call); the MongoDB store returns a
 * promise. Callers handle both (`await`, or `andThen` from
 * lib/maybe-promise.ts inside an async call).
 */
export interface ChannelStore {
  /**
   * Fails with `channel-limit` when the store holds its maximum number of
   * channels, or `candidate-limit` when the offer brings more candidates than a side may hold.
   */
  createChannel(init: NewChannel): MaybePromise<ChannelState>;
  /** The live channel, or undefined when it does not exist, expired or was closed. */
  getChannel(id: string): MaybePromise<ChannelState | undefined>;
  /**
   * Sets the offer and, in the same step, adds the offerer's candidates as
   * addCandidates would. Fails with `not-found`, `offer-locked` (already
   * answered), `candidates-complete` or `candidate-limit`.
   */
  setOffer(id: string, sdp: string, candidates?: CandidateBatch): MaybePromise<ChannelState>;
  /**
   * Sets the answer and, in the same step, adds the answerer's candidates.
   * Fails with `not-found`, `no-offer`, `already-answered` or `candidate-limit`.
   */
  setAnswer(id: string, sdp: string, answererTokenHash: string, candidates?: CandidateBatch): MaybePromise<ChannelState>;
  /**
   * One atomic mutation: appends the candidates of `batch` that are new (not
   * identical to one already there or earlier in the batch), one version
   * step each, then, when `complete`, marks the side complete with one more
   * step unless it already is. Watchers see one event per step, as if each
   * had been added alone. Fails, changing nothing, with `not-found`,
   * `candidates-complete` (new candidates after the side completed) or
   * `candidate-limit` (the side would hold more than the limit).
   */
  addCandidates(id: string, side: Side, batch: readonly StoredCandidate[], complete: boolean): MaybePromise<CandidateBatchResult>;
  /** Removes the channel and tells its watchers. Fails with `not-found`. */
  closeChannel(id: string, closedBy: Side): MaybePromise<void>;
  /**
   * Calls `listener` with every later change of the channel until the
   * returned function is called. Changes made through other processes
   * sharing the store arrive too, where the store is shared.
   */
  watchChannel(id: string, listener: ChannelListener): Unsubscribe;
  /** Releases timers and connections. */
  close(): Promise<void>;
  /** Whether the store can serve now, for /healthz; a store without it is always ready. */
  health?(): Promise<StoreHealth>;
  /** What the store holds now, for metrics (a shared store counts every process's channels). */
  stats?(): Promise<ChannelStoreStats>;
}

/** The operations of a ChannelStore that may answer synchronously (timed by the store metrics either way). */
export const channelOperations: ReadonlySet<string> = new Set(["createChannel", "getChannel", "setOffer", "setAnswer", "addCandidates", "closeChannel"]);

export interface ChannelStoreStats {
  /** Channels neither expired nor closed. */
  readonly liveChannels: number;
}

export interface StoreHealth {
  readonly ready: boolean;
  /** Shown in the health output: the store kind, how watchers learn of changes, and the like. */
  readonly details: Readonly<Record<string, string>>;
}

export interface MutationResult {
  readonly state: ChannelState;
  /** False when the call changed nothing (an idempotent retry). */
  readonly changed: boolean;
}

export interface CandidateBatchResult extends MutationResult {
  /** How many candidates of the batch were new and were added. */
  readonly added: number;
  /** Whether this call marked the side complete. */
  readonly completed: boolean;
}

export type ChannelChange =
  | { readonly kind: "updated"; readonly state: ChannelState }
  | { readonly kind: "closed"; readonly closedBy: Side; readonly version: number }
  | { readonly kind: "expired"; readonly version: number }
  /** The store can no longer tell this watcher about changes (it became unreachable); the watch must end with the error. */
  | { readonly kind: "failed"; readonly error: StoreError };

export type ChannelListener = (change: ChannelChange) => void;

export type Unsubscribe = () => void;

/** Limits a store enforces inside its atomic updates. */
export interface StoreLimits {
  /** Channels held at once; more are refused with `channel-limit`. */
  readonly maxChannels: number;
  /** Candidates per side of a channel; more are refused with `candidate-limit`. */
  readonly maxCandidatesPerSide: number;
  /** Bytes one channel holds (offer + answer + every candidate's text); more are refused with `channel-bytes`. */
  readonly maxChannelBytes: number;
  /**
   * Bytes all channels of this process hold together (memory store), so
   * that max-channels × the largest channel cannot exceed memory; more are
   * refused with `store-bytes`. The MongoDB store leaves the total to the database.
   */
  readonly maxStoreBytes: number;
}

export type StoreFailure =
  | "not-found"
  | "offer-locked"
  | "no-offer"
  | "already-answered"
  | "candidates-complete"
  | "candidate-limit"
  | "channel-limit"
  | "channel-bytes"
  | "store-bytes"
  | "unavailable";

/** Why a store call failed. The service layer turns it into a status code. */
export class StoreError extends Error {
  constructor(
    readonly reason: StoreFailure,
    readonly channelId: string,
    detail?: string,
  ) {
    super(detail ?? `${reason}: channel ${channelId}`);
    this.name = "StoreError";
  }
}

/**
 * Appends a candidate to one side unless an identical one is there (one
 * item of `addCandidates`). Fails with `not-found`, `candidates-complete` or
 * `candidate-limit`.
 */
export function addCandidate(store: ChannelStore, id: string, side: Side, candidate: StoredCandidate): MaybePromise<MutationResult> {
  return andThen(store.addCandidates(id, side, [candidate], false), ({ state, changed }) => ({ state, changed }));
}

/** Marks a side's candidates complete; idempotent. Fails with `not-found`. */
export function completeCandidates(store: ChannelStore, id: string, side: Side): MaybePromise<MutationResult> {
  return andThen(store.addCandidates(id, side, [], true), ({ state, changed }) => ({ state, changed }));
}
