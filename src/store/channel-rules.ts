import type { ChannelState, StoredCandidate } from "./channel.js";
import { candidateRefusal } from "./channel.js";
import type { StoreLimits } from "./store.js";
import { StoreError } from "./store.js";

/**
 * The rules of a channel that every store applies the same way, whatever
 * holds it: which changes a state admits (with channel.ts's
 * candidateRefusal and withCandidates) and the byte budget. A store reads
 * the state its own way, asks these, then applies the change.
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
  // Both sides walked in place (no joined copy: a store counts this twice per change).
  for (const candidate of state.candidates.offerer) bytes += candidateBytes(candidate.value);
  for (const candidate of state.candidates.answerer) bytes += candidateBytes(candidate.value);
  return bytes;
}

/** Fails with `channel-bytes` when a channel would hold `bytes`, more than the budget. */
export function checkChannelBytes(id: string, bytes: number, limits: Pick<StoreLimits, "maxChannelBytes">): void {
  if (bytes > limits.maxChannelBytes) {
    throw new StoreError("channel-bytes", id, `channel ${id} would hold ${bytes} bytes; at most ${limits.maxChannelBytes} (max-channel-bytes)`);
  }
}

/** Fails with `candidates-complete` or `candidate-limit` when a batch may not join a side. */
export function refuseCandidates(
  id: string,
  existing: readonly StoredCandidate[],
  complete: boolean,
  batch: readonly StoredCandidate[],
  limits: Pick<StoreLimits, "maxCandidatesPerSide">,
): void {
  const refusal = candidateRefusal(existing, complete, batch, limits.maxCandidatesPerSide);
  if (refusal === "candidate-limit") throw new StoreError(refusal, id, `a side holds at most ${limits.maxCandidatesPerSide} candidates`);
  if (refusal) throw new StoreError(refusal, id);
}

/** Fails with `no-offer` or `already-answered` when an answer may not be set. */
export function admitAnswer(id: string, state: { readonly hasOffer: boolean; readonly hasAnswer: boolean }): void {
  if (!state.hasOffer) throw new StoreError("no-offer", id);
  if (state.hasAnswer) throw new StoreError("already-answered", id);
}
