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
 * promise, or is one of `syncOperations` (operations the store may answer
 * synchronously, such as the memory store's channel operations), is timed
 * into switchboard_store_operation_duration_seconds, its faults counted (a
 * synchronous throw as a rejection), and, with tracing on, run in a child
 * span. The operation label is the method name (a bounded set); per call:
 * two clock reads, and a `.then` for a promise.
 */
export function instrumentStore<T extends object>(
  store: T,
  name: string,
  metrics: ServerMetrics | undefined,
  spans: StoreSpans | undefined,
  syncOperations: ReadonlySet<string> = new Set(),
): T {
  if (!metrics && !spans) return store;
  const wrapped: Record<string, unknown> = {};
  for (let proto: object | null = store; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const operation of Object.getOwnPropertyNames(proto)) {
      const method = (store as Record<string, unknown>)[operation];
      if (operation === "constructor" || operation in wrapped || typeof method !== "function") continue;
      wrapped[operation] = instrumentMethod(store, method as (...args: unknown[]) => unknown, name, operation, metrics, spans, syncOperations.has(operation));
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
  timeSync: boolean,
): (...args: unknown[]) => unknown {
  const cells = metrics?.storeOperation(name, operation);
  const observe = (started: number) => cells!.duration.observe((performance.now() - started) / 1000);
  const fault = (started: number, error: unknown): never => {
    observe(started);
    if (isStoreFault(error)) cells!.errors.value++;
    throw error;
  };
  const timed = (args: unknown[]): unknown => {
    if (!cells) return method.apply(store, args);
    const started = performance.now();
    let result: unknown;
    try {
      result = method.apply(store, args);
    } catch (error) {
      if (!timeSync) throw error;
      return fault(started, error);
    }
    if (!(result instanceof Promise)) {
      if (timeSync) observe(started);
      return result;
    }
    return result.then(
      (value: unknown) => {
        observe(started);
        return value;
      },
      (error: unknown) => fault(started, error),
    );
  };
  if (!spans) return (...args) => timed(args);
  return (...args) => spans(name, operation, () => timed(args));
}
