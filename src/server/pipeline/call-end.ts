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
      return withMessages<R>(res, watched(res.message, ended, firstMessage));
    },
    (error: unknown) => {
      ended(error);
      throw error;
    },
  );
}

/**
 * The stream's messages, reporting its end once: after the last message, on
 * an error, or when the consumer stops reading (return(), even before the
 * first message: an async generator would skip its finally then).
 */
function watched<T>(messages: AsyncIterable<T>, ended: CallEnded, firstMessage: (() => void) | undefined): AsyncIterable<T> {
  let finished = false;
  const finish = (error: unknown) => {
    if (finished) return;
    finished = true;
    ended(error);
  };
  let first = firstMessage;
  return {
    [Symbol.asyncIterator]() {
      const inner = messages[Symbol.asyncIterator]();
      return {
        // A promise chain, not an async function: an idle watch stream waits here for as long as it is open,
        // and a suspended async function holds its frame meanwhile (two of these wrap every stream).
        next(): Promise<IteratorResult<T>> {
          return inner.next().then(
            (result) => {
              if (result.done) finish(undefined);
              else if (first) {
                first();
                first = undefined;
              }
              return result;
            },
            (error: unknown) => {
              finish(error);
              throw error;
            },
          );
        },
        async return(value?: unknown): Promise<IteratorResult<T>> {
          // Built only when it is news: an error captures a stack, and a stream that already failed or ended has its outcome.
          if (!finished) finish(new ConnectError("the client cancelled the stream", Code.Canceled));
          return (await inner.return?.(value)) ?? { done: true, value: value as T };
        },
        async throw(error?: unknown): Promise<IteratorResult<T>> {
          finish(error);
          if (inner.throw) return inner.throw(error);
          throw error;
        },
      };
    },
  };
}

/**
 * A stream request or response as it was, with other messages. Not a spread
 * copy: every other property is read from the original when asked for, so
 * a request or response whose headers, trailers or signal are lazy getters
 * (the lean path's) is not made to build them. A class with getters on its
 * prototype, not Object.create(original), which would turn each original into
 * a prototype object (slow in V8) and cost more than the copy it saves.
 */
export class WithMessages {
  readonly stream = true;
  constructor(
    /** The request or response wrapped (see wrappedBy). */
    readonly original: object,
    readonly message: AsyncIterable<unknown>,
  ) {}

  private get o(): Record<string, unknown> {
    return this.original as Record<string, unknown>;
  }
  get method(): unknown {
    return this.o["method"];
  }
  get service(): unknown {
    return this.o["service"];
  }
  get header(): unknown {
    return this.o["header"];
  }
  get trailer(): unknown {
    return this.o["trailer"];
  }
  get url(): unknown {
    return this.o["url"];
  }
  get signal(): unknown {
    return this.o["signal"];
  }
  get requestMethod(): unknown {
    return this.o["requestMethod"];
  }
  get contextValues(): unknown {
    return this.o["contextValues"];
  }
}

/** The stream request or response `res` with `message` for its messages (WithMessages). */
export function withMessages<R extends object>(res: R, message: AsyncIterable<unknown>): R {
  return new WithMessages(res, message) as unknown as R;
}

/** Whether `value` is `original`, or `original` with only its messages replaced (by withMessages, any number of times). */
export function onlyMessagesReplaced(value: object, original: object): boolean {
  let v = value;
  while (v instanceof WithMessages) v = v.original;
  return v === original;
}
