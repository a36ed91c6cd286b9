import { Code, ConnectError } from "@connectrpc/connect";

/** Codes after which the same call may well succeed later: the network or the server, not the request. */
const transient = new Set([Code.Unavailable, Code.Unknown, Code.Internal, Code.Aborted, Code.DeadlineExceeded, Code.Canceled, Code.ResourceExhausted]);

export function isTransient(error: ConnectError): boolean {
  return transient.has(error.code);
}

/** Wait before retry number `attempt` (1, 2, ...): 250 ms doubling up to 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), 5000);
}

/** Resolves after `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `call`, retrying transient failures up to `maxRetries` times in a row with backoff. */
export async function withRetries<T>(call: () => Promise<T>, maxRetries: number, signal: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (cause) {
      const error = ConnectError.from(cause);
      if (signal.aborted || !isTransient(error) || attempt > maxRetries) throw error;
    }
    await sleep(backoffMs(attempt), signal);
  }
}
