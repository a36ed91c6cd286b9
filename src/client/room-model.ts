import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Member, RoomMessage as ProtoRoomMessage } from "../../gen/signaling/v1/room_pb.js";
import { LeaveReason, MessageKind } from "../../gen/signaling/v1/room_pb.js";

/** What a room message carries: SDP, an ICE candidate (empty body: end-of-candidates), or application data. */
export type MessageKindName = "offer" | "answer" | "ice-candidate" | "data";

/** Why a member left: it called leave(), or its connection was gone past the server's session timeout. */
export type LeaveReasonName = "left" | "timed-out";

export interface RoomMember {
  /** Public within the room; stays the same across reconnects. */
  readonly sessionId: string;
  /** The name the member gave when joining; may be empty. */
  readonly displayName: string;
  readonly joinTime: Date | undefined;
}

export interface RoomMessage {
  /** The sender's session id. */
  readonly from: string;
  /** This member's session id, or undefined for a message to every member but its sender. */
  readonly to: string | undefined;
  readonly kind: MessageKindName;
  readonly body: string;
  /** When the server accepted it. */
  readonly sendTime: Date | undefined;
}

const kinds: Readonly<Record<MessageKindName, MessageKind>> = {
  offer: MessageKind.OFFER,
  answer: MessageKind.ANSWER,
  "ice-candidate": MessageKind.ICE_CANDIDATE,
  data: MessageKind.DATA,
};

export function toProtoKind(kind: MessageKindName): MessageKind {
  return kinds[kind];
}

function kindName(kind: MessageKind): MessageKindName {
  return (Object.keys(kinds) as MessageKindName[]).find((name) => kinds[name] === kind) ?? "data";
}

export function leaveReasonName(reason: LeaveReason): LeaveReasonName {
  return reason === LeaveReason.TIMED_OUT ? "timed-out" : "left";
}

function toDate(time: Timestamp | undefined): Date | undefined {
  return time && timestampDate(time);
}

export function toMember(member: Member): RoomMember {
  return { sessionId: member.sessionId, displayName: member.displayName, joinTime: toDate(member.joinTime) };
}

export function toMessage(message: ProtoRoomMessage): RoomMessage {
  return {
    from: message.fromSessionId,
    to: message.toSessionId === "" ? undefined : message.toSessionId,
    kind: kindName(message.kind),
    body: message.body,
    sendTime: toDate(message.sendTime),
  };
}
