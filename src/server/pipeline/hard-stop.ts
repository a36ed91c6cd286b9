import type { Interceptor } from "@connectrpc/connect";

/**
 * Fails every call still running when `signal` fires, with the signal's
 * reason, so a client cut off at the end of the shutdown grace period gets
 * a proper status (UNAVAILABLE: retry elsewhere) rather than a torn connection.
 */
export function hardStop(signal: AbortSignal): Interceptor {
  return (next) => (req) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      next(req)
        .then(resolve, reject)
        .finally(() => signal.removeEventListener("abort", onAbort));
    });
}
