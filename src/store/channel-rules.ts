import type { ChannelState, StoredCandidate } from "./channel.js";
import type { StoreLimits } from "./store.js";
import { StoreError } from "./store.js";

/**
 * The rules of a channel that every store applies the same way, whatever
 * holds the channel: which changes a state admits and the byte budget. A
 * store reads the state (its own way), asks these, then applies the change.
 */

/** Bytes a text counts against a channel's budget: its UTF-8 length. */
export const textBytes = (text: string): number => Buffer.byteLength(text, "utf8");

/** Bytes a candidate counts: its text fields, as max-candidate-bytes counts them. */
export function candidateBytes(candidate: StoredCandidate): number {
  return textBytes(candidate.candidate) + textBytes(candidate.sdpMid ?? "") + textBytes(candidate.usernameFragment ?? "");
}

/** Bytes a channel holds: offer + answer + every candidate of both sides. */
export function channelBytes(state: Pick<ChannelState, "offer" | "answer" | "candidates">): number {
  let bytes = textBytes(state.offer?.value ?? "") + textBytes(state.answer?.value ?? "");
  for (const candidate of [...state.candidates.offerer, ...state.candidates.answerer]) bytes += candidateBytes(candidate.value);
  return bytes;
}

/** Fails with `channel-bytes` when a channel holding `held` bytes would hold more than the budget after `held - freed + added`. */
export function checkChannelBytes(id: string, held: number, added: number, limits: Pick<StoreLimits, "maxChannelBytes">, freed = 0): void {
  if (held - freed + added > limits.maxChannelBytes) {
    throw new StoreError("channel-bytes", id, `channel ${id} would hold ${held - freed + added} bytes; at most ${limits.maxChannelBytes} (max-channel-bytes)`);
  }
}

/** What the candidate rules need to know of one side and the channel. */
export interface SideHolding {
  readonly count: number;
  readonly complete: boolean;
  /** Bytes the whole channel holds. */
  readonly channelBytes: number;
}

/**
 * Whether `fresh` (candidates not yet held) may join a side: fails with
 * `candidates-complete`, `candidate-limit` or `channel-bytes`. Returns the
 * bytes they add.
 */
export function admitCandidates(id: string, side: SideHolding, fresh: readonly StoredCandidate[], limits: Pick<StoreLimits, "maxCandidatesPerSide" | "maxChannelBytes">): number {
  if (fresh.length > 0 && side.complete) throw new StoreError("candidates-complete", id);
  if (side.count + fresh.length > limits.maxCandidatesPerSide) {
    throw new StoreError("candidate-limit", id, `a side holds at most ${limits.maxCandidatesPerSide} candidates`);
  }
  const added = fresh.reduce((sum, candidate) => sum + candidateBytes(candidate), 0);
  checkChannelBytes(id, side.channelBytes, added, limits);
  return added;
}

/** Whether an answer may be set: fails with `no-offer` or `already-answered`. */
export function admitAnswer(id: string, state: { readonly hasOffer: boolean; readonly hasAnswer: boolean }): void {
  if (!state.hasOffer) throw new StoreError("no-offer", id);
  if (state.hasAnswer) throw new StoreError("already-answered", id);
}
