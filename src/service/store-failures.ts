import { Code, ConnectError } from "@connectrpc/connect";
import type { RoomStoreFailure } from "../store/room-store.js";
import { RoomStoreError } from "../store/room-store.js";
import type { StoreFailure } from "../store/store.js";
import { StoreError } from "../store/store.js";
import { limitExceeded } from "./limit-error.js";

/** How a store failure reads to a client: a status code and a message saying what to do, or the limit setting it hit. */
type Reading = { readonly code: Code; readonly message: (id: string) => string } | { readonly limit: string; readonly message: (id: string) => string };

const channelFailures: Record<StoreFailure, Reading> = {
  "not-found": { code: Code.NotFound, message: (id) => `channel ${id} not found: it never existed, has expired or was closed` },
  "offer-locked": { code: Code.FailedPrecondition, message: (id) => `channel ${id} is already answered; its offer can no longer change` },
  "no-offer": { code: Code.FailedPrecondition, message: (id) => `channel ${id} has no offer yet; answer it after the offerer calls SetOffer` },
  "already-answered": { code: Code.AlreadyExists, message: (id) => `channel ${id} is already answered; only the first answer is kept` },
  "candidates-complete": {
    code: Code.FailedPrecondition,
    message: (id) => `this side of channel ${id} already sent end-of-candidates; no more candidates are accepted`,
  },
  "candidate-limit": {
    limit: "max-candidates-per-side",
    message: (id) => `this side of channel ${id} holds the maximum number of ICE candidates (max-candidates-per-side)`,
  },
  "channel-limit": { limit: "max-channels", message: () => "the server holds its maximum number of channels (max-channels); retry later" },
  "channel-bytes": {
    limit: "max-channel-bytes",
    message: (id) => `channel ${id} would hold more than its byte budget for offer, answer and candidates (max-channel-bytes)`,
  },
  "store-bytes": {
    limit: "max-store-bytes",
    message: () => "the server holds its maximum bytes of channel data (max-store-bytes); retry later",
  },
  unavailable: { code: Code.Unavailable, message: () => "the channel store is unavailable; retry shortly" },
};

const roomFailures: Record<RoomStoreFailure, Reading> = {
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
  // A full room has no setting to name: its seats are the room's, chosen by the join that created it.
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
  "room-limit": { limit: "max-rooms", message: () => "the server holds its maximum number of rooms (max-rooms); retry later" },
  "events-trimmed": {
    code: Code.FailedPrecondition,
    message: (room) =>
      `the events of room ${room} after after_sequence are no longer kept (room-max-backlog-bytes); watch without after_sequence to start from a snapshot`,
  },
  unavailable: { code: Code.Unavailable, message: () => "the room store is unavailable; retry shortly" },
};

/**
 * The ConnectError a client sees for a channel or room store failure;
 * undefined for any other error. The store's own detail (which may quote a
 * driver) stays in the cause, never in the message.
 */
export function storeFailureError(error: unknown): ConnectError | undefined {
  if (error instanceof StoreError) return read(channelFailures[error.reason], error.channelId, error);
  if (error instanceof RoomStoreError) return read(roomFailures[error.reason], error.room, error);
  return undefined;
}

function read(reading: Reading, id: string, cause: Error): ConnectError {
  const message = reading.message(id);
  return "limit" in reading ? limitExceeded(reading.limit, message, cause) : new ConnectError(message, reading.code, undefined, undefined, cause);
}
