import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { MemberSchema, RoomSchema, WatchRoomResponseSchema } from "../../gen/signaling/v1/room_pb.js";
import { LeaveReason, MessageKind } from "../../gen/signaling/v1/room_pb.js";
import type { LeaveReasonName, MessageKindName, RoomEvent, RoomMemberState, RoomState } from "../store/room.js";

export type RoomInit = MessageInitShape<typeof RoomSchema>;
export type WatchRoomResponseInit = MessageInitShape<typeof WatchRoomResponseSchema>;
type MemberInit = MessageInitShape<typeof MemberSchema>;

const protoKinds: Record<MessageKindName, MessageKind> = {
  offer: MessageKind.OFFER,
  answer: MessageKind.ANSWER,
  "ice-candidate": MessageKind.ICE_CANDIDATE,
  data: MessageKind.DATA,
};

const protoReasons: Record<LeaveReasonName, LeaveReason> = {
  left: LeaveReason.LEFT,
  "timed-out": LeaveReason.TIMED_OUT,
};

export function memberMessage(member: RoomMemberState): MemberInit {
  return { sessionId: member.sessionId, displayName: member.displayName, joinTime: timestampFromMs(member.joinTime) };
}

export function roomMessage(state: RoomState): RoomInit {
  return { name: state.name, seats: state.seats, members: state.members.map(memberMessage) };
}

export function roomEventMessage(event: RoomEvent): WatchRoomResponseInit {
  const sequence = BigInt(event.sequence);
  switch (event.kind) {
    case "joined":
      return { sequence, event: { case: "memberJoined", value: { member: memberMessage(event.member) } } };
    case "left":
      return { sequence, event: { case: "memberLeft", value: { sessionId: event.sessionId, reason: protoReasons[event.reason] } } };
    case "message":
      return {
        sequence,
        event: {
          case: "message",
          value: {
            fromSessionId: event.from,
            toSessionId: event.to ?? "",
            kind: protoKinds[event.messageKind],
            body: event.body,
            sendTime: timestampFromMs(event.sendTime),
          },
        },
      };
  }
}
