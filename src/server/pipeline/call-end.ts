import type { StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";

type Response = UnaryResponse | StreamResponse;

/** Called once per call when it ends: `error` is undefined on success. */
export type CallEnded = (error: unknown) => void;

/**
 * Passes the response through and calls `ended` exactly once: for a unary
 * call when the response (or error) is ready; for a stream after its last
 * message, its error, or its cancellation by the client. `firstMessage`, if
 * given, runs when a stream's first message is sent. An observer's one hook
 * into a call, so that log, metrics and traces agree on when a call ended.
 */
export function whenCallEnds<R extends Response>(response: Promise<R>, ended: CallEnded, firstMessage?: () => void): Promise<R> {
  return response.then(
    (res) => {
      if (!res.stream) {
        ended(undefined);
        return res;
      }
      return { ...res, message: watched(res.message, ended, firstMessage) };
    },
    (error: unknown) => {
      ended(error);
      throw error;
    },
  );
}

async function* watched<T>(messages: AsyncIterable<T>, ended: CallEnded, firstMessage: (() => void) | undefined): AsyncGenerator<T> {
  let outcome: { error: unknown } | undefined;
  let first = firstMessage;
  try {
    for await (const message of messages) {
      if (first) {
        first();
        first = undefined;
      }
      yield message;
    }
    outcome = { error: undefined };
  } catch (error) {
    outcome = { error };
    throw error;
  } finally {
    // Neither finished nor failed: the consumer stopped reading (the client went away).
    ended(outcome ? outcome.error : new ConnectError("the client cancelled the stream", Code.Canceled));
  }
}
