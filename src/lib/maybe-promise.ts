/** A value a step may give at once (the memory store) or later (the MongoDB store). */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `next(value)` at once for a plain value, once it settles for a promise:
 * the same code serves a store that answers synchronously (no promise, no
 * microtask per step) and one that answers later. A throw of `next` (or of
 * a synchronous step before it) is thrown synchronously on the first path and
 * rejects on the second; callers run inside an async function or a
 * `.then`, where both end the same way.
 */
export function andThen<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
