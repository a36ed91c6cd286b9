import type { ChannelState, Side, StoredCandidate } from "./channel.js";
import { sides } from "./channel.js";

/** One change of a channel, as a watcher sees it. */
export type ChannelEvent =
  | { readonly kind: "offer"; readonly version: number; readonly sdp: string }
  | { readonly kind: "answer"; readonly version: number; readonly sdp: string }
  | { readonly kind: "candidate"; readonly version: number; readonly side: Side; readonly candidate: StoredCandidate }
  | { readonly kind: "candidates-complete"; readonly version: number; readonly side: Side };

/**
 * The changes made to a channel after `afterVersion`, oldest first, derived
 * from its state. An offer replaced before the watcher saw it appears once,
 * with its latest value and version: the replaced one is of no use anymore.
 */
export function eventsSince(state: ChannelState, afterVersion: number): ChannelEvent[] {
  const events: ChannelEvent[] = [];
  if (state.offer && state.offer.version > afterVersion) {
    events.push({ kind: "offer", version: state.offer.version, sdp: state.offer.value });
  }
  if (state.answer && state.answer.version > afterVersion) {
    events.push({ kind: "answer", version: state.answer.version, sdp: state.answer.value });
  }
  for (const side of sides) {
    for (const { value, version } of state.candidates[side]) {
      if (version > afterVersion) events.push({ kind: "candidate", version, side, candidate: value });
    }
    const completeVersion = state.candidatesComplete[side];
    if (completeVersion !== undefined && completeVersion > afterVersion) {
      events.push({ kind: "candidates-complete", version: completeVersion, side });
    }
  }
  return events.sort((a, b) => a.version - b.version);
}
