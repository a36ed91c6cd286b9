import { Code, ConnectError } from "@connectrpc/connect";
import type { SessionCredentials } from "../../gen/signaling/v1/room_pb.js";
import { MessageKind } from "../../gen/signaling/v1/room_pb.js";
import type { MessageKindName } from "../store/room.js";
import { invalidArgument } from "./errors.js";
import type { RoomServiceLimits } from "./limits.js";
import { checkSize, isIssuedId, isIssuedToken } from "./validation.js";

// Unreserved URL characters plus ':' and '@', so a room name fits a URL path unescaped.
const roomNamePattern = /^[A-Za-z0-9._~:@-]{1,128}$/;

/** Part of the API contract (see JoinRoomRequest.display_name), not an operator's setting. */
export const maxDisplayNameBytes = 64;

const messageKinds: ReadonlyMap<MessageKind, MessageKindName> = new Map([
  [MessageKind.OFFER, "offer"],
  [MessageKind.ANSWER, "answer"],
  [MessageKind.ICE_CANDIDATE, "ice-candidate"],
  [MessageKind.DATA, "data"],
]);

export function validRoomName(room: string): string {
  if (room === "") throw invalidArgument("room", "is required");
  if (!roomNamePattern.test(room)) {
    throw invalidArgument("room", "must be 1 to 128 characters from A-Z a-z 0-9 and . _ ~ : @ -");
  }
  return room;
}

/** The requested seats; undefined (the room's or the default) for 0. */
export function validSeats(seats: number, limits: RoomServiceLimits): number | undefined {
  if (seats === 0) return undefined;
  if (seats > limits.maxSeats) {
    throw invalidArgument("seats", `is ${seats}; a room has at most ${limits.maxSeats} seats (room-max-seats)`);
  }
  return seats;
}

export function validDisplayName(displayName: string): string {
  checkSize("display_name", displayName, maxDisplayNameBytes, "fixed by the API");
  return displayName;
}

/** Longest join secret, in UTF-8 bytes. */
const maxJoinSecretBytes = 256;

/** A room's join secret; "" for none. Only its hash is ever stored. */
export function validJoinSecret(secret: string): string {
  checkSize("join_secret", secret, maxJoinSecretBytes, "fixed by the API");
  return secret;
}

export function validMessageKind(kind: MessageKind): MessageKindName {
  const name = messageKinds.get(kind);
  if (!name) {
    const allowed = [...messageKinds.keys()].map((k) => `MESSAGE_KIND_${MessageKind[k]}`).join(", ");
    throw invalidArgument("kind", `must be one of ${allowed}`);
  }
  return name;
}

export function validBody(body: string, limits: RoomServiceLimits): string {
  checkSize("body", body, limits.maxMessageBytes, "room-max-message-bytes");
  return body;
}

/** The recipient's session id; undefined for every other member. */
export function validRecipient(toSessionId: string, fromSessionId: string): string | undefined {
  if (toSessionId === "") return undefined;
  if (!isIssuedId(toSessionId)) throw invalidArgument("to_session_id", "must be a session id as returned by JoinRoom (a lowercase UUID)");
  if (toSessionId === fromSessionId) throw invalidArgument("to_session_id", "must not be the sender's own session");
  return toSessionId;
}

/**
 * The session a call names. UNAUTHENTICATED without a token, INVALID_ARGUMENT
 * for a malformed session id, PERMISSION_DENIED for a token that cannot be one we issued.
 */
export function presentedSession(session: SessionCredentials | undefined, room: string): { sessionId: string; token: string } {
  const token = session?.sessionToken ?? "";
  if (token === "") {
    throw new ConnectError("session.session_token is required: pass the session_token from JoinRoom", Code.Unauthenticated);
  }
  const sessionId = session?.sessionId ?? "";
  if (sessionId === "") throw invalidArgument("session.session_id", "is required");
  if (!isIssuedId(sessionId)) throw invalidArgument("session.session_id", "must be a session id as returned by JoinRoom (a lowercase UUID)");
  if (!isIssuedToken(token)) throw sessionPermissionDenied(room);
  return { sessionId, token };
}

export function sessionPermissionDenied(room: string): ConnectError {
  return new ConnectError(`room ${room}: the session token does not belong to this session`, Code.PermissionDenied);
}
