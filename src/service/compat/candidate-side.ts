import type { ChannelState, Side, StoredCandidate } from "../../store/channel.js";

// ICE username fragments (RFC 8839 ice-char). The patterns also match inside
// JSON text, where a line break is the two characters \r or \n.
const sdpUfrag = /a=ice-ufrag:([A-Za-z0-9+/]+)/;
const candidateUfrag = /\bufrag ([A-Za-z0-9+/]+)/;
const jsonUfrag = /"usernameFragment":"([A-Za-z0-9+/]+)"/;

/**
 * The side a candidate posted through the compat endpoint belongs to. That
 * protocol has one shared list and no tokens, so the side is inferred: a
 * candidate names the ICE username fragment of the peer that gathered it,
 * and the offer and the answer name theirs (a=ice-ufrag). A candidate whose
 * fragment matches neither belongs to the answerer when the offer's is
 * known (the answerer gathers before its answer is posted); without a
 * fragment to go by, candidates before the answer are the offerer's and
 * after it the answerer's.
 */
export function compatCandidateSide(state: ChannelState, candidate: StoredCandidate): Side {
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
