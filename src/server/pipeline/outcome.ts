import type { StreamResponse, UnaryResponse } from "@connectrpc/connect";

/** What an interceptor does with a call's outcome. */
export interface OutcomeHooks {
  /** The call ended well: a unary response came back, or a stream sent its last message. */
  readonly succeeded?: () => void;
  /** The call failed, before its response or while streaming; returns the error the caller sees instead. */
  readonly failed: (error: unknown) => unknown;
}

/**
 * Runs `call` (the next interceptor) and hands its outcome to `hooks`, for
 * unary calls and for streams alike: a streaming handler fails while its
 * messages are read, so the stream is wrapped to catch that too.
 */
export async function observeOutcome<R extends UnaryResponse | StreamResponse>(call: () => Promise<R>, hooks: OutcomeHooks): Promise<R> {
  let res: R;
  try {
    res = await call();
  } catch (error) {
    throw hooks.failed(error);
  }
  if (!res.stream) {
    hooks.succeeded?.();
    return res;
  }
  const messages = res.message;
  return {
    ...res,
    message: (async function* () {
      try {
        yield* messages;
      } catch (error) {
        throw hooks.failed(error);
      }
      hooks.succeeded?.();
    })(),
  };
}
