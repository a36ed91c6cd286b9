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
  return {
    ...res,
    message: (async function* () {
      try {
        yield* messages;
      } catch (error) {
        throw translate(error);
      }
    })(),
  };
}
