import {
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerClosedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoStalePrimaryError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from "mongodb";
import { RoomStoreError } from "../../room-store.js";
import { StoreError } from "../../store.js";

/** Server error codes of a deployment that is down, stepping down or failing over. */
const unavailableCodes = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Driver errors that mean "MongoDB cannot be reached or cannot confirm the write now". */
export function isUnavailableError(error: unknown): boolean {
  if (!(error instanceof MongoError)) return false;
  return (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoServerClosedError ||
    error instanceof MongoStalePrimaryError ||
    error instanceof MongoOperationTimeoutError ||
    error instanceof MongoWriteConcernError ||
    error.hasErrorLabel("RetryableWriteError") ||
    error.hasErrorLabel("ResetPool") ||
    (error instanceof MongoServerError && typeof error.code === "number" && unavailableCodes.has(error.code))
  );
}

/** Runs a driver call, turning unavailability into StoreError("unavailable") and leaving other errors alone. */
export async function guarded<T>(channelId: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (isUnavailableError(error)) {
      throw new StoreError("unavailable", channelId, `MongoDB is unavailable: ${(error as Error).message}`);
    }
    throw error;
  }
}

/**
 * guarded for rooms: a driver call, or a lease lock that gave up (a
 * channel-store StoreError), failing for unavailability becomes
 * RoomStoreError("unavailable"); other errors pass unchanged.
 */
export async function guardedRoom<T>(room: string, call: () => Promise<T>): Promise<T> {
  try {
    return await guarded(room, call);
  } catch (error) {
    if (error instanceof StoreError && error.reason === "unavailable") throw new RoomStoreError("unavailable", room, error.message);
    throw error;
  }
}
