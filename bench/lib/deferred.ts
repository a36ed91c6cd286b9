/** A promise with its resolve and reject at hand; rejections not awaited are not reported as unhandled. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/**
 * Runs `work` with a signal that fires after `timeoutMs` or when the work
 * fails, so every part stops; rejects at the deadline even if `work` ignores the signal.
 */
export async function withDeadline<T>(timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const expired = deferred<never>();
  const timer = setTimeout(() => {
    const error = new Error(`exchange took longer than ${timeoutMs} ms`);
    controller.abort(error);
    expired.reject(error);
  }, timeoutMs);
  try {
    return await Promise.race([work(controller.signal), expired.promise]);
  } catch (error) {
    controller.abort(error);
    throw error;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
