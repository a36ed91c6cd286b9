import type { StoreHealth } from "../store/store.js";
import type { HealthStatus } from "./health/health-status.js";
import type { Logger } from "./logger.js";

/**
 * Keeps `service`'s gRPC health in step with the store: NOT_SERVING while the
 * store cannot be reached, SERVING again once it can. Checks every `intervalMs`;
 * the returned function stops it. A store that cannot tell is always ready.
 */
export function probeStoreHealth(
  store: { health?(): Promise<StoreHealth> },
  health: HealthStatus,
  service: string,
  intervalMs: number,
  logger: Logger,
): () => void {
  if (!store.health) return () => {};
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastReady = true;
  const check = async () => {
    const ready = await store.health!().then((h) => h.ready, () => false);
    if (stopped) return;
    if (ready !== lastReady) {
      logger[ready ? "info" : "warn"](ready ? "store reachable again" : "store unreachable", { service });
      lastReady = ready;
    }
    health.setServing(service, ready);
    timer = setTimeout(check, intervalMs);
    timer.unref();
  };
  void check();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
