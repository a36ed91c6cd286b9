import type { StreamResponse, UnaryResponse } from "@connectrpc/connect";

/**
 * The response with every error the call fails with replaced by
 * `translate(error)`: the error of a unary call or of a stream's start, and
 * one thrown while a stream sends its messages (a streaming handler fails
 * while its messages are read, so the stream is wrapped to catch that too).
 */
export async function mapErrors<R extends UnaryResponse | StreamResponse>(response: Promise<R>, translate: (error: unknown) => unknown): Promise<R> {
  let res: R;
  try {
    res = await response;
  } catch (error) {
    throw translate(error);
  }
  if (!res.stream) return res;
  const messages = res.message;
  return { ...res, message: translatingErrors(messages as AsyncIterable<unknown>, translate) as typeof messages };
}

/**
 * `messages` with every error `translate`d. An iterator of promise chains rather than an async generator:
 * an idle watch stream waits in next() for as long as it is open, and a suspended generator holds its frame.
 */
function translatingErrors<T>(messages: AsyncIterable<T>, translate: (error: unknown) => unknown): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const inner = messages[Symbol.asyncIterator]();
      const failed = (error: unknown): never => {
        throw translate(error);
      };
      return {
        next: () => inner.next().then(undefined, failed),
        return: (value?: unknown) => (inner.return ? inner.return(value as never).then(undefined, failed) : Promise.resolve({ done: true, value: value as T })),
        throw: (error?: unknown) => (inner.throw ? inner.throw(error).then(undefined, failed) : Promise.reject(translate(error))),
      };
    },
  };
}
