/**
 * The store's model of a channel: plain data, shared by every store
 * implementation. Every field that changes carries the channel version at
 * which it changed, so the changes a watcher missed can be derived from the
 * state alone (see channel-events.ts).
 */

export type Side = "offerer" | "answerer";

export const sides: readonly Side[] = ["offerer", "answerer"];

export interface StoredCandidate {
  readonly candidate: string;
  readonly sdpMid?: string;
  readonly sdpMLineIndex?: number;
  readonly usernameFragment?: string;
}

export interface Versioned<T> {
  readonly value: T;
  /** The channel version at which this value was written. */
  readonly version: number;
}

export interface PerSide<T> {
  readonly offerer: T;
  readonly answerer: T;
}

export interface ChannelState {
  readonly id: string;
  /** SHA-256 of the offerer's token; the token itself is never stored. */
  readonly offererTokenHash: string;
  /** SHA-256 of the answerer's token, once answered. */
  readonly answererTokenHash?: string;
  /** The offer's SDP text. */
  readonly offer?: Versioned<string>;
  /** The answer's SDP text. */
  readonly answer?: Versioned<string>;
  readonly candidates: PerSide<readonly Versioned<StoredCandidate>[]>;
  /** The version at which each side sent end-of-candidates. */
  readonly candidatesComplete: PerSide<number | undefined>;
  /** Milliseconds since the Unix epoch. */
  readonly createTime: number;
  /** Milliseconds since the Unix epoch; the channel is gone from this instant on. */
  readonly expireTime: number;
  /** 1 at creation, one more for every change. */
  readonly version: number;
}

/** Candidates sent together with a description (or alone): stored in the same atomic step. */
export interface CandidateBatch {
  readonly batch: readonly StoredCandidate[];
  /** The side has sent end-of-candidates. */
  readonly complete: boolean;
}

export const noCandidates: CandidateBatch = { batch: [], complete: false };

/** What a store needs to create a channel. */
export interface NewChannel {
  readonly id: string;
  readonly offererTokenHash: string;
  readonly createTime: number;
  readonly expireTime: number;
  /** The offer and the offerer's first candidates, created with the channel (the short exchange). */
  readonly offer?: { readonly sdp: string; readonly candidates: CandidateBatch };
}

/**
 * The state of a new channel: version 1, then one version step for the offer,
 * each of its candidates and end-of-candidates, in that order, as if each had
 * been set by its own call.
 */
export function newChannelState(init: NewChannel): ChannelState {
  const { offer, ...fields } = init;
  const empty: ChannelState = {
    ...fields,
    candidates: { offerer: [], answerer: [] },
    candidatesComplete: { offerer: undefined, answerer: undefined },
    version: 1,
  };
  if (!offer) return empty;
  const offered = { ...empty, offer: { value: offer.sdp, version: 2 }, version: 2 };
  return withCandidates(offered, "offerer", offer.candidates).state;
}

/** What `withCandidates` did. */
export interface CandidatesApplied {
  readonly state: ChannelState;
  /** How many candidates of the batch were new. */
  readonly added: number;
  /** Whether this marked the side complete. */
  readonly completed: boolean;
}

/**
 * Appends the new candidates of a batch (one version step each) and then,
 * when asked and not yet done, end-of-candidates (one more step). The
 * caller has checked `candidateRefusal` first.
 */
export function withCandidates(state: ChannelState, side: Side, { batch, complete }: CandidateBatch): CandidatesApplied {
  const existing = state.candidates[side];
  const fresh = batch.length === 0 ? batch : freshCandidates(existing.map((c) => c.value), batch);
  const completed = complete && state.candidatesComplete[side] === undefined;
  if (fresh.length === 0 && !completed) return { state, added: 0, completed: false };
  let version = state.version;
  const candidates = { ...state.candidates, [side]: [...existing, ...fresh.map((value) => ({ value, version: ++version }))] };
  const candidatesComplete = completed ? { ...state.candidatesComplete, [side]: ++version } : state.candidatesComplete;
  return { state: { ...state, candidates, candidatesComplete, version }, added: fresh.length, completed };
}

/**
 * Why a batch cannot be added to a side: new candidates after the side sent
 * end-of-candidates, or more than `maxPerSide` candidates on the side; undefined when it can.
 */
export function candidateRefusal(
  existing: readonly StoredCandidate[],
  alreadyComplete: boolean,
  batch: readonly StoredCandidate[],
  maxPerSide: number,
): "candidates-complete" | "candidate-limit" | undefined {
  const fresh = freshCandidates(existing, batch).length;
  if (fresh > 0 && alreadyComplete) return "candidates-complete";
  if (existing.length + fresh > maxPerSide) return "candidate-limit";
  return undefined;
}

/** The offer, the answer and both sides' end-of-candidates are in: nothing more will change. */
export function exchangeComplete(state: ChannelState): boolean {
  return (
    state.offer !== undefined &&
    state.answer !== undefined &&
    state.candidatesComplete.offerer !== undefined &&
    state.candidatesComplete.answerer !== undefined
  );
}

/** Two candidates are the same when every field matches; retries send identical ones. */
export function sameCandidate(a: StoredCandidate, b: StoredCandidate): boolean {
  return (
    a.candidate === b.candidate &&
    a.sdpMid === b.sdpMid &&
    a.sdpMLineIndex === b.sdpMLineIndex &&
    a.usernameFragment === b.usernameFragment
  );
}

/** A string equal for identical candidates (every field equal) and only for them. */
export function candidateIdentity(candidate: StoredCandidate): string {
  return JSON.stringify([candidate.candidate, candidate.sdpMid ?? null, candidate.sdpMLineIndex ?? null, candidate.usernameFragment ?? null]);
}

/** Whether two candidates have the same identity (candidateIdentity), compared field by field without building it (sdpMLineIndex is a uint32: never NaN). */
function sameIdentity(a: StoredCandidate, b: StoredCandidate): boolean {
  return (
    a.candidate === b.candidate &&
    (a.sdpMid ?? null) === (b.sdpMid ?? null) &&
    (a.sdpMLineIndex ?? null) === (b.sdpMLineIndex ?? null) &&
    (a.usernameFragment ?? null) === (b.usernameFragment ?? null)
  );
}

/** Up to this many comparisons (existing × batch), candidates are compared field by field instead of through a set of identities. */
const directComparisons = 256;

/** The candidates of `batch` identical to none in `existing` nor to an earlier one of the batch, in batch order. */
export function freshCandidates(existing: readonly StoredCandidate[], batch: readonly StoredCandidate[]): StoredCandidate[] {
  // The usual call (a candidate or a few, against a side's few dozen): no identity string per candidate per call.
  if ((existing.length + batch.length) * batch.length <= directComparisons) {
    const fresh: StoredCandidate[] = [];
    for (const candidate of batch) {
      if (existing.some((e) => sameIdentity(e, candidate)) || fresh.some((f) => sameIdentity(f, candidate))) continue;
      fresh.push(candidate);
    }
    return fresh;
  }
  const seen = new Set(existing.map(candidateIdentity));
  const fresh: StoredCandidate[] = [];
  for (const candidate of batch) {
    const identity = candidateIdentity(candidate);
    if (seen.has(identity)) continue;
    seen.add(identity);
    fresh.push(candidate);
  }
  return fresh;
}

export function isExpired(state: ChannelState, now: number): boolean {
  return state.expireTime <= now;
}
