import {
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
} from "mongodb";
import { StoreError } from "../store.js";

/** Driver errors that mean "MongoDB cannot be reached or cannot confirm the write now". */
export function isUnavailableError(error: unknown): boolean {
  return (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoOperationTimeoutError ||
    error instanceof MongoWriteConcernError
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
