import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/health/v1/health_pb.js";

/**
 * The name whose status says only whether the process is alive and not shutting down: a store
 * outage leaves it SERVING, so a liveness probe on it does not restart a pod that only waits for
 * its database (the readiness probe, on "", takes the pod out of the load balancer instead).
 */
export const livenessService = "liveness";

/**
 * The health the server reports through grpc.health.v1.Health: one status
 * per service, and the whole server under the empty name "". The app sets
 * it: a store that loses its database calls `setServing(name, false)` and
 * `setServing(name, true)` when it is back; shutdown calls `drain()`.
 */
export class HealthStatus {
  private readonly serving = new Map<string, boolean>();
  private draining = false;
  private readonly listeners = new Set<() => void>();

  /** `services`: the fully-qualified names reported on; each starts SERVING. */
  constructor(services: Iterable<string>) {
    for (const service of services) this.serving.set(service, true);
  }

  /** Marks one service serving or not. Ignored after `drain()`. */
  setServing(service: string, serving: boolean): void {
    if (!this.serving.has(service)) throw new Error(`health: unknown service ${service}`);
    if (this.draining || this.serving.get(service) === serving) return;
    this.serving.set(service, serving);
    this.changed();
  }

  /** Every service is NOT_SERVING from now on: the server is shutting down. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.changed();
  }

  /**
   * A service's status, or undefined when it is not reported on. The
   * server ("") is SERVING only while every service is.
   */
  get(service: string): ServingStatus | undefined {
    if (service === "") return this.statusOf(!this.draining && [...this.serving.values()].every(Boolean));
    const serving = this.serving.get(service);
    return serving === undefined ? undefined : this.statusOf(serving && !this.draining);
  }

  /** Every status, the server's ("") first. */
  all(): Map<string, ServingStatus> {
    return new Map(["", ...this.serving.keys()].map((name) => [name, this.get(name)!]));
  }

  /** Calls `listener` after every change, until the returned function is called. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private statusOf(serving: boolean): ServingStatus {
    return serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
