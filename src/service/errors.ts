import { Code, ConnectError } from "@connectrpc/connect";
import type { RoomStoreFailure } from "../store/room-store.js";
import { RoomStoreError } from "../store/room-store.js";
import { StoreError } from "../store/store.js";
import { storeFailureError } from "./store-failures.js";

/** The ConnectError of a store failure, or the error as Connect reads it. */
export function toConnectError(error: unknown): ConnectError {
  return storeFailureError(error) ?? ConnectError.from(error);
}

export function channelNotFound(channelId: string): ConnectError {
  return toConnectError(new StoreError("not-found", channelId));
}

export function roomError(reason: RoomStoreFailure, room: string): ConnectError {
  return toConnectError(new RoomStoreError(reason, room));
}

export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}
