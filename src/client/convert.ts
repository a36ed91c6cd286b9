import type { MessageInitShape } from "@bufbuild/protobuf";
import type { IceCandidate, IceCandidateSchema, SessionDescription, SessionDescriptionSchema } from "../../gen/signaling/v1/signaling_pb.js";
import { SdpType } from "../../gen/signaling/v1/signaling_pb.js";

type DescriptionInit = MessageInitShape<typeof SessionDescriptionSchema>;
type CandidateInit = MessageInitShape<typeof IceCandidateSchema>;

const sdpTypes = { offer: SdpType.OFFER, answer: SdpType.ANSWER } as const;

/** The browser's offer or answer as the API's SessionDescription. */
export function toProtoDescription(description: RTCSessionDescriptionInit, type: keyof typeof sdpTypes): DescriptionInit {
  return { type: sdpTypes[type], sdp: description.sdp ?? "" };
}

/** The API's SessionDescription as the browser's RTCSessionDescriptionInit. */
export function toBrowserDescription(description: SessionDescription): RTCSessionDescriptionInit {
  return { type: description.type === SdpType.ANSWER ? "answer" : "offer", sdp: description.sdp };
}

/** RTCIceCandidateInit and IceCandidate match field for field; the browser's nulls become unset fields. */
export function toProtoCandidate(candidate: RTCIceCandidateInit): CandidateInit {
  return {
    candidate: candidate.candidate ?? "",
    sdpMid: candidate.sdpMid ?? undefined,
    sdpMLineIndex: candidate.sdpMLineIndex ?? undefined,
    usernameFragment: candidate.usernameFragment ?? undefined,
  };
}

export function toBrowserCandidate(candidate: IceCandidate): RTCIceCandidateInit {
  return {
    candidate: candidate.candidate,
    sdpMid: candidate.sdpMid ?? null,
    sdpMLineIndex: candidate.sdpMLineIndex ?? null,
    usernameFragment: candidate.usernameFragment ?? null,
  };
}
