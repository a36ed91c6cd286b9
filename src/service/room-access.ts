import type { SessionCredentials } from "../../gen/signaling/v1/room_pb.js";
import type { Clock } from "../lib/clock.js";
import type { RoomMemberState, RoomState } from "../store/room.js";
import { findMember } from "../store/room.js";
import type { RoomStore } from "../store/room-store.js";
import { roomError } from "./errors.js";
import { presentedSession, sessionPermissionDenied } from "./room-validation.js";
import { tokenMatches } from "./tokens.js";

export interface AuthorizedMember {
  readonly state: RoomState;
  readonly member: RoomMemberState;
  /** The session token the caller presented (and proved). */
  readonly token: string;
}

/**
 * The room and the member whose session the call names. NOT_FOUND when the
 * room or the member is gone; PERMISSION_DENIED when the token is not that
 * member's (a stranger's, or one of another room's session).
 */
export async function authorizeMember(
  store: RoomStore,
  clock: Clock,
  room: string,
  session: SessionCredentials | undefined,
): Promise<AuthorizedMember> {
  const { sessionId, token } = presentedSession(session, room);
  const state = await store.getRoom(room);
  if (!state) throw roomError("room-not-found", room);
  const member = findMember(state, sessionId, clock.now());
  if (!member) throw roomError("session-not-found", room);
  if (!tokenMatches(token, member.tokenHash)) throw sessionPermissionDenied(room);
  return { state, member, token };
}
