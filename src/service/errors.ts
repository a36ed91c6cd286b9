import { Code, ConnectError } from "@connectrpc/connect";
import type { StoreFailure } from "../store/store.js";
import { StoreError } from "../store/store.js";
import { RoomStoreError } from "../store/room-store.js";
import { limitExceeded } from "./limit-error.js";
import { roomStoreConnectError } from "./room-errors.js";

/** How each store failure reads to a client; `setting` names the limit behind a RESOURCE_EXHAUSTED. */
const storeFailures: Record<StoreFailure, { code: Code; message: (channelId: string) => string; setting?: string }> = {
  "not-found": {
    code: Code.NotFound,
    message: (id) => `channel ${id} not found: it never existed, has expired or was closed`,
  },
  "offer-locked": {
    code: Code.FailedPrecondition,
    message: (id) => `channel ${id} is already answered; its offer can no longer change`,
  },
  "no-offer": {
    code: Code.FailedPrecondition,
    message: (id) => `channel ${id} has no offer yet; answer it after the offerer calls SetOffer`,
  },
  "already-answered": {
    code: Code.AlreadyExists,
    message: (id) => `channel ${id} is already answered; only the first answer is kept`,
  },
  "candidates-complete": {
    code: Code.FailedPrecondition,
    message: (id) => `this side of channel ${id} already sent end-of-candidates; no more candidates are accepted`,
  },
  "candidate-limit": {
    code: Code.ResourceExhausted,
    message: (id) => `this side of channel ${id} holds the maximum number of ICE candidates (max-candidates-per-side)`,
    setting: "max-candidates-per-side",
  },
  "channel-limit": {
    code: Code.ResourceExhausted,
    message: () => "the server holds its maximum number of channels (max-channels); retry later",
    setting: "max-channels",
  },
  unavailable: {
    code: Code.Unavailable,
    message: () => "the channel store is unavailable; retry shortly",
  },
};

/** Turns anything thrown below the service into the ConnectError a client sees. */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof StoreError) {
    const failure = storeFailures[error.reason];
    if (failure.setting !== undefined) return limitExceeded(failure.setting, failure.message(error.channelId), error);
    return new ConnectError(failure.message(error.channelId), failure.code, undefined, undefined, error);
  }
  if (error instanceof RoomStoreError) return roomStoreConnectError(error);
  return ConnectError.from(error);
}

export function channelNotFound(channelId: string): ConnectError {
  return toConnectError(new StoreError("not-found", channelId));
}

export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

/**
 * Wraps every method of a service implementation so that store failures
 * leave it as ConnectErrors, for unary and streaming methods alike.
 */
export function translateErrors<T extends object>(impl: T): T {
  const wrapped: Record<string, unknown> = {};
  let proto: object | null = impl;
  while (proto && proto !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method = (impl as Record<string, unknown>)[name];
      if (name === "constructor" || typeof method !== "function" || name in wrapped) continue;
      wrapped[name] = (...args: unknown[]) => {
        const result = (method as (...a: unknown[]) => unknown).apply(impl, args);
        if (isAsyncIterable(result)) return translateStream(result);
        return Promise.resolve(result).catch((error: unknown) => {
          throw toConnectError(error);
        });
      };
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return wrapped as T;
}

async function* translateStream<T>(stream: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* stream;
  } catch (error) {
    throw toConnectError(error);
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}
