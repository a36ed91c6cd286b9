import { Code, ConnectError } from "@connectrpc/connect";
import type { RoomStoreFailure } from "../store/room-store.js";
import { RoomStoreError } from "../store/room-store.js";
import { limitExceeded } from "./limit-error.js";

/**
 * How each room store failure reads to a client: what happened and what to do
 * about it; `setting` names the limit behind a RESOURCE_EXHAUSTED (a full room
 * has none: its seats are the room's, chosen by the join that created it).
 */
const roomFailures: Record<RoomStoreFailure, { code: Code; message: (room: string) => string; setting?: string }> = {
  "room-not-found": {
    code: Code.NotFound,
    message: (room) => `room ${room} not found: it never existed, or it stayed empty past the session timeout; join it again`,
  },
  "session-not-found": {
    code: Code.NotFound,
    message: (room) =>
      `the session is not a member of room ${room}: it left, timed out (room-session-timeout-ms) or belongs to another room; join again`,
  },
  "recipient-not-found": {
    code: Code.NotFound,
    message: (room) => `to_session_id is not a member of room ${room}: it left or timed out; GetRoom lists the members`,
  },
  "room-full": {
    code: Code.ResourceExhausted,
    message: (room) =>
      `every seat of room ${room} is taken; retry when a member leaves, or use a room with more seats (the join that creates a room sets seats, at most room-max-seats)`,
  },
  "seats-mismatch": {
    code: Code.FailedPrecondition,
    message: (room) => `room ${room} exists with a different number of seats; leave seats unset (0) to join it`,
  },
  "join-secret-mismatch": {
    code: Code.PermissionDenied,
    message: (room) => `room ${room} is guarded by a join secret and join_secret does not match it; ask whoever created the room for it`,
  },
  "room-limit": {
    code: Code.ResourceExhausted,
    message: () => "the server holds its maximum number of rooms (max-rooms); retry later",
    setting: "max-rooms",
  },
  "events-trimmed": {
    code: Code.FailedPrecondition,
    message: (room) =>
      `the events of room ${room} after after_sequence are no longer kept (room-max-backlog-bytes); watch without after_sequence to start from a snapshot`,
  },
  unavailable: {
    code: Code.Unavailable,
    message: () => "the room store is unavailable; retry shortly",
  },
};

/** The ConnectError a client sees for a room store failure. */
export function roomStoreConnectError(error: RoomStoreError): ConnectError {
  const failure = roomFailures[error.reason];
  if (failure.setting !== undefined) return limitExceeded(failure.setting, failure.message(error.room), error);
  return new ConnectError(failure.message(error.room), failure.code, undefined, undefined, error);
}

export function roomError(reason: RoomStoreFailure, room: string): ConnectError {
  return roomStoreConnectError(new RoomStoreError(reason, room));
}
