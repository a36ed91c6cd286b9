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

/** What a store needs to create a channel. */
export interface NewChannel {
  readonly id: string;
  readonly offererTokenHash: string;
  readonly createTime: number;
  readonly expireTime: number;
}

export function newChannelState(init: NewChannel): ChannelState {
  return {
    ...init,
    candidates: { offerer: [], answerer: [] },
    candidatesComplete: { offerer: undefined, answerer: undefined },
    version: 1,
  };
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

/** The candidates of `batch` identical to none in `existing` nor to an earlier one of the batch, in batch order. */
export function freshCandidates(existing: readonly StoredCandidate[], batch: readonly StoredCandidate[]): StoredCandidate[] {
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
