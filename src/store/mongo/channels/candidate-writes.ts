import type { Filter } from "mongodb";
import type { CandidateBatch, Side } from "../../channel.js";
import { freshCandidates } from "../../channel.js";
import { candidateBytes, checkChannelBytes, refuseCandidates } from "../../channel-rules.js";
import type { CandidateBatchResult, StoreLimits } from "../../store.js";
import { StoreError } from "../../store.js";
import type { ChannelWrites } from "./channel-writes.js";
import { bytesRoom } from "./channel-writes.js";
import type { ChangeCode, ChannelDocument } from "./document.js";
import { candidateChange, candidateKey, completeChange, heldBytes, storedCandidate, toState } from "./document.js";

/** A description written in the same update as a batch of candidates, with its own preconditions. */
export interface Companion {
  /** Its conditions, given the document as last read (undefined before the first read). */
  readonly conditions: (current: ChannelDocument | undefined) => Filter<ChannelDocument>;
  readonly set: Record<string, unknown>;
  readonly code: ChangeCode;
  /** The bytes it adds to the channel (less what it replaces), given the document as last read. */
  readonly bytes: (current: ChannelDocument | undefined) => number;
  /** Why the conditions do not hold on this live document, or undefined when they do. */
  readonly refusal: (doc: ChannelDocument) => StoreError | undefined;
}

/** Tries against concurrent changes of the same channel (each retry follows such a change). */
const maxAttempts = 8;

/**
 * First tries the update as if none of the candidates were stored yet; its
 * filter refuses it if one is, if the side is complete, if the candidate
 * limit or the byte budget would be passed, or if the companion's
 * conditions fail. Only then is the document read, to drop the duplicates
 * or say why (by the rules every store applies), and the update tried again
 * with what is left. The companion's change comes first in version order.
 */
export async function applyCandidates(
  deps: { readonly writes: ChannelWrites; readonly options: { readonly limits: Pick<StoreLimits, "maxCandidatesPerSide" | "maxChannelBytes"> } },
  id: string,
  side: Side,
  { batch, complete }: CandidateBatch,
  companion?: Companion,
): Promise<CandidateBatchResult> {
  const { writes, options: { limits } } = deps;
  const max = limits.maxCandidatesPerSide;
  let current: ChannelDocument | undefined;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const refusal = current && companion?.refusal(current);
    if (refusal) throw refusal;
    const fresh = freshCandidates(current?.candidates[side] ?? [], batch);
    if (!current && (fresh.length > max || (fresh.length === 0 && !complete && !companion))) {
      current = await writes.requireLive(id); // decided by the stored state alone
      continue;
    }
    const alreadyComplete = current?.changes.includes(completeChange(side)) ?? false;
    refuseCandidates(id, current?.candidates[side] ?? [], alreadyComplete, fresh, limits);
    const added = fresh.reduce((sum, candidate) => sum + candidateBytes(candidate), 0) + (companion?.bytes(current) ?? 0);
    if (current) checkChannelBytes(id, heldBytes(current) + added, limits);
    const completed = complete && !alreadyComplete;
    if (fresh.length === 0 && !completed && !companion) return { state: toState(current!), changed: false, added: 0, completed: false };
    const keys = fresh.map(candidateKey);
    const conditions: Filter<ChannelDocument> = { ...companion?.conditions(current), ...(added > 0 && bytesRoom(limits.maxChannelBytes, added)) };
    if (fresh.length > 0 || completed) conditions.changes = { $ne: completeChange(side) };
    if (fresh.length > 0) {
      Object.assign(conditions, { [`candidateKeys.${side}`]: { $nin: keys }, [`candidates.${side}.${max - fresh.length}`]: { $exists: false } });
    }
    const push = fresh.length > 0 ? { [`candidates.${side}`]: { $each: fresh.map(storedCandidate) }, [`candidateKeys.${side}`]: { $each: keys } } : {};
    const codes = [...(companion ? [companion.code] : []), ...fresh.map(() => candidateChange(side)), ...(completed ? [completeChange(side)] : [])];
    const doc = await writes.mutate(id, conditions, { $push: push, ...(companion && { $set: companion.set }), $inc: { bytes: added } }, codes);
    if (doc) return { state: toState(doc), changed: true, added: fresh.length, completed };
    current = await writes.requireLive(id);
  }
  throw new StoreError("unavailable", id, `channel ${id}: ${maxAttempts} concurrent changes in a row kept this change from being applied`);
}
