import { RoomStoreError } from "../store/room-store.js";
import { StoreError } from "../store/store.js";
import type { ServerMetrics } from "./metrics/server-metrics.js";

/**
 * Runs one store call inside a child span of the active one (tracing.ts); the
 * call's result passes through, and the span ends when a returned promise
 * settles (at once for a synchronous result).
 */
export type StoreSpans = <T>(store: string, operation: string, call: () => T) => T;

/**
 * Whether a store failure is the store's fault (unreachable, unexpected),
 * not an answer about the request such as "not found" or "room full".
 */
export function isStoreFault(error: unknown): boolean {
  if (error instanceof StoreError || error instanceof RoomStoreError) return error.reason === "unavailable";
  return true;
}

/**
 * The store seen through metrics and tracing: every method of `store` (its
 * whole prototype chain) is passed through, and each one that returns a
 * promise is timed into switchboard_store_operation_duration_seconds, its
 * faults counted, and, with tracing on, run in a child span. The operation
 * label is the method name (a bounded set); per call: two clock reads and a
 * `.then`.
 */
export function instrumentStore<T extends object>(store: T, name: string, metrics: ServerMetrics | undefined, spans: StoreSpans | undefined): T {
  if (!metrics && !spans) return store;
  const wrapped: Record<string, unknown> = {};
  for (let proto: object | null = store; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const operation of Object.getOwnPropertyNames(proto)) {
      const method = (store as Record<string, unknown>)[operation];
      if (operation === "constructor" || operation in wrapped || typeof method !== "function") continue;
      wrapped[operation] = instrumentMethod(store, method as (...args: unknown[]) => unknown, name, operation, metrics, spans);
    }
  }
  return wrapped as T;
}

function instrumentMethod(
  store: object,
  method: (...args: unknown[]) => unknown,
  name: string,
  operation: string,
  metrics: ServerMetrics | undefined,
  spans: StoreSpans | undefined,
): (...args: unknown[]) => unknown {
  const cells = metrics?.storeOperation(name, operation);
  const timed = (args: unknown[]): unknown => {
    const started = performance.now();
    const result = method.apply(store, args);
    if (!cells || !(result instanceof Promise)) return result;
    return result.then(
      (value: unknown) => {
        cells.duration.observe((performance.now() - started) / 1000);
        return value;
      },
      (error: unknown) => {
        cells.duration.observe((performance.now() - started) / 1000);
        if (isStoreFault(error)) cells.errors.value++;
        throw error;
      },
    );
  };
  if (!spans) return (...args) => timed(args);
  return (...args) => spans(name, operation, () => timed(args));
}
