import type { JsonValue } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { IceCandidateSchema, SdpType, SessionDescriptionSchema } from "../../../gen/signaling/v1/signaling_pb.js";
import { canonicalJson, hasExactKeys, isJsonObject, parseJson } from "../../lib/json.js";
import type { StoredCandidate } from "../../store/channel.js";
import type { SignalingLimits } from "../limits.js";
import { checkSize, validCandidate, validDescription } from "../validation.js";

/*
 * The compat protocol's offers, answers and candidates are opaque JSON
 * values; the store holds SDP text and RTCIceCandidateInit fields. The
 * mapping is a bijection, so the compat reader always gets back the value
 * it stored:
 *
 * - A description in the browser's toJSON() form, {"type": "offer", "sdp": "v=0..."},
 *   is stored as its SDP text, which SignalingService users read as a real offer.
 *   Any other value is stored as its JSON text. SDP text is never valid JSON,
 *   so the reader tells the two apart by parsing.
 * - A candidate in the browser's toJSON() form (exactly candidate, sdpMid,
 *   sdpMLineIndex, usernameFragment, the absent ones null) is stored field by
 *   field. Any other value is stored as its JSON text in the `candidate`
 *   field with neither sdpMid nor sdpMLineIndex, which a real candidate
 *   always has.
 */

export type DescriptionKind = "offer" | "answer";

const sdpTypes: Record<DescriptionKind, SdpType> = { offer: SdpType.OFFER, answer: SdpType.ANSWER };

/** The text to store for a compat offer or answer; INVALID_ARGUMENT when too large. */
export function descriptionToStore(kind: DescriptionKind, value: JsonValue, limits: SignalingLimits): string {
  if (
    isJsonObject(value) &&
    hasExactKeys(value, ["type", "sdp"]) &&
    value["type"] === kind &&
    typeof value["sdp"] === "string" &&
    value["sdp"].trim() !== "" &&
    !parseJson(value["sdp"])
  ) {
    const description = create(SessionDescriptionSchema, { type: sdpTypes[kind], sdp: value["sdp"] });
    return validDescription(kind, description, sdpTypes[kind], limits);
  }
  const text = canonicalJson(value);
  checkSize(kind, text, limits.maxSdpBytes, "max-sdp-bytes");
  return text;
}

/** The compat value of a stored offer or answer, whichever API stored it. */
export function descriptionFromStore(kind: DescriptionKind, text: string): JsonValue {
  const opaque = parseJson(text);
  return opaque ? opaque.value : { type: kind, sdp: text };
}

const candidateKeys = ["candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"] as const;

/** The candidate to store for a compat candidate value; INVALID_ARGUMENT when too large. */
export function candidateToStore(value: JsonValue, limits: SignalingLimits): StoredCandidate {
  if (isJsonObject(value) && hasExactKeys(value, candidateKeys)) {
    const { candidate, sdpMid, sdpMLineIndex, usernameFragment } = value;
    if (
      typeof candidate === "string" &&
      candidate !== "" &&
      !parseJson(candidate) &&
      (sdpMid === null || typeof sdpMid === "string") &&
      (sdpMLineIndex === null || isUint32(sdpMLineIndex)) &&
      (usernameFragment === null || typeof usernameFragment === "string") &&
      (sdpMid !== null || sdpMLineIndex !== null)
    ) {
      const init = create(IceCandidateSchema, {
        candidate,
        ...(sdpMid !== null && { sdpMid }),
        ...(sdpMLineIndex !== null && { sdpMLineIndex }),
        ...(usernameFragment !== null && { usernameFragment }),
      });
      return validCandidate(init, limits);
    }
  }
  const text = canonicalJson(value);
  checkSize("candidate", text, limits.maxCandidateBytes, "max-candidate-bytes");
  return { candidate: text };
}

/** The compat value of a stored candidate, whichever API stored it. */
export function candidateFromStore(stored: StoredCandidate): JsonValue {
  if (stored.sdpMid === undefined && stored.sdpMLineIndex === undefined) {
    const opaque = parseJson(stored.candidate);
    if (opaque) return opaque.value;
  }
  return {
    candidate: stored.candidate,
    sdpMid: stored.sdpMid ?? null,
    sdpMLineIndex: stored.sdpMLineIndex ?? null,
    usernameFragment: stored.usernameFragment ?? null,
  };
}

function isUint32(value: JsonValue | undefined): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}
