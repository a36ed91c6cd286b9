import type { ChannelState, Side, StoredCandidate } from "../../store/channel.js";
import { sides } from "../../store/channel.js";

/**
 * Stands in for the token hash of a side written through the compat
 * endpoint. It is not a SHA-256 hash, so no token ever matches it, and it
 * tells compat writes which sides no token protects.
 */
export const compatTokenHash = "compat";

/**
 * Whether the channel was created through the compat endpoint. Only such a
 * channel is ever written through it: one created through SignalingService
 * is written with its tokens only, and compat readers see just its offer
 * side (what the channel id alone reveals through SignalingService too).
 */
export function createdThroughCompat(state: ChannelState): boolean {
  return state.offererTokenHash === compatTokenHash;
}

/**
 * Whether a compat call may write for this side of a channel created
 * through the compat endpoint: one created or answered through it, or an
 * answerer yet to answer. A side that holds a SignalingService token (an
 * answer set with SetAnswer) stays writable only with that token.
 */
export function openToCompat(state: ChannelState, side: Side): boolean {
  const hash = side === "offerer" ? state.offererTokenHash : state.answererTokenHash;
  return hash === compatTokenHash || (side === "answerer" && hash === undefined);
}

// ICE username fragments (RFC 8839 ice-char). The patterns also match inside
// JSON text, where a line break is the two characters \r or \n.
const sdpUfrag = /a=ice-ufrag:([A-Za-z0-9+/]+)/;
const candidateUfrag = /\bufrag ([A-Za-z0-9+/]+)/;
const jsonUfrag = /"usernameFragment":"([A-Za-z0-9+/]+)"/;

/**
 * The side a candidate posted through the compat endpoint goes to:
 * undefined when both sides are token-protected, the open one when only one
 * is. Otherwise it is inferred, as that protocol has one shared list and no
 * tokens: a candidate names the ICE username fragment of the peer that
 * gathered it, and the offer and the answer name theirs (a=ice-ufrag). A
 * fragment that matches neither is the answerer's when the offer's is known
 * (the answerer gathers before its answer is posted); without a fragment to
 * go by, candidates before the answer are the offerer's, after it the
 * answerer's.
 */
export function compatCandidateSide(state: ChannelState, candidate: StoredCandidate): Side | undefined {
  const open = sides.filter((side) => openToCompat(state, side));
  if (open.length < 2) return open[0];
  const ufrag =
    candidate.usernameFragment ?? candidate.candidate.match(candidateUfrag)?.[1] ?? candidate.candidate.match(jsonUfrag)?.[1];
  const offerUfrag = state.offer?.value.match(sdpUfrag)?.[1];
  const answerUfrag = state.answer?.value.match(sdpUfrag)?.[1];
  if (ufrag !== undefined) {
    if (ufrag === offerUfrag) return "offerer";
    if (ufrag === answerUfrag) return "answerer";
    if (offerUfrag !== undefined) return "answerer";
  }
  return state.answer ? "answerer" : "offerer";
}
