import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type {
  ChannelSchema,
  IceCandidateSchema,
  SessionDescriptionSchema,
  WatchChannelResponseSchema,
} from "../../gen/signaling/v1/signaling_pb.js";
import { SdpType, Side as ProtoSide } from "../../gen/signaling/v1/signaling_pb.js";
import type { ChannelState, Side, StoredCandidate, Versioned } from "../store/channel.js";
import type { ChannelEvent } from "../store/channel-events.js";
import type { ChannelChange } from "../store/store.js";

export type ChannelInit = MessageInitShape<typeof ChannelSchema>;
export type WatchResponseInit = MessageInitShape<typeof WatchChannelResponseSchema>;
type DescriptionInit = MessageInitShape<typeof SessionDescriptionSchema>;
type CandidateInit = MessageInitShape<typeof IceCandidateSchema>;

export function protoSide(side: Side): ProtoSide {
  return side === "offerer" ? ProtoSide.OFFERER : ProtoSide.ANSWERER;
}

export function offerMessage(sdp: string): DescriptionInit {
  return { type: SdpType.OFFER, sdp };
}

export function answerMessage(sdp: string): DescriptionInit {
  return { type: SdpType.ANSWER, sdp };
}

export function candidateMessage(candidate: StoredCandidate): CandidateInit {
  return { ...candidate };
}

export function candidateMessages(candidates: readonly Versioned<StoredCandidate>[]): CandidateInit[] {
  return candidates.map((c) => candidateMessage(c.value));
}

export function channelMessage(state: ChannelState): ChannelInit {
  return {
    channelId: state.id,
    offer: state.offer && offerMessage(state.offer.value),
    answer: state.answer && answerMessage(state.answer.value),
    offererCandidates: candidateMessages(state.candidates.offerer),
    answererCandidates: candidateMessages(state.candidates.answerer),
    offererCandidatesComplete: state.candidatesComplete.offerer !== undefined,
    answererCandidatesComplete: state.candidatesComplete.answerer !== undefined,
    createTime: timestampFromMs(state.createTime),
    expireTime: timestampFromMs(state.expireTime),
    version: state.version,
  };
}

export function eventMessage(event: ChannelEvent): WatchResponseInit {
  const version = event.version;
  switch (event.kind) {
    case "offer":
      return { version, event: { case: "offer", value: offerMessage(event.sdp) } };
    case "answer":
      return { version, event: { case: "answer", value: answerMessage(event.sdp) } };
    case "candidate":
      return {
        version,
        event: {
          case: "iceCandidateAdded",
          value: { side: protoSide(event.side), candidate: candidateMessage(event.candidate) },
        },
      };
    case "candidates-complete":
      return { version, event: { case: "iceCandidatesComplete", value: { side: protoSide(event.side) } } };
  }
}

/** The final message of a stream whose channel ended. */
/** The last message of a stream whose channel's exchange is complete. */
export function completeMessage(version: number): WatchResponseInit {
  return { version, event: { case: "exchangeComplete", value: {} } };
}

export function endMessage(change: Exclude<ChannelChange, { kind: "updated" | "failed" }>): WatchResponseInit {
  if (change.kind === "closed") {
    return { version: change.version, event: { case: "channelClosed", value: { closedBy: protoSide(change.closedBy) } } };
  }
  return { version: change.version, event: { case: "channelExpired", value: {} } };
}
