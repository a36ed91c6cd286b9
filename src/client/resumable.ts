import { ConnectError } from "@connectrpc/connect";
import { backoffMs, isTransient, sleep } from "./retry.js";

export interface ResumableOptions<T> {
  /** Drops in a row (with no message between them) survived before giving up. */
  readonly maxRetries: number;
  readonly signal: AbortSignal;
  /** Told before each reconnect. */
  readonly onReconnect?: () => void;
  /** The message after which the stream is complete: no reconnect follows it. */
  readonly isLast?: (message: T) => boolean;
  /** Names the stream in the error thrown when it keeps ending early. */
  readonly name: string;
}

/**
 * A server stream that survives drops: `open` is called again (after a
 * backoff) whenever the stream fails transiently or ends early, and must ask
 * for what follows the last message the caller has seen. Ends after
 * `isLast`, or quietly when `signal` aborts; throws a ConnectError on a
 * permanent failure or after `maxRetries` drops in a row.
 */
export async function* resumable<T>(open: () => AsyncIterable<T>, options: ResumableOptions<T>): AsyncGenerator<T> {
  const { signal } = options;
  let failures = 0;
  for (;;) {
    let failure: ConnectError | undefined;
    try {
      for await (const message of open()) {
        failures = 0;
        yield message;
        if (options.isLast?.(message)) return;
      }
    } catch (cause) {
      failure = ConnectError.from(cause);
    }
    if (signal.aborted) return;
    // A stream that ends without its last message was cut by something between us and the server: resume it too.
    if (failure && !isTransient(failure)) throw failure;
    failures++;
    if (failures > options.maxRetries) {
      throw failure ?? new ConnectError(`the ${options.name} stream kept ending early; giving up`);
    }
    try {
      await sleep(backoffMs(failures), signal);
    } catch {
      return;
    }
    options.onReconnect?.();
  }
}
