import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { limitExceeded } from "../../service/limit-error.js";
import { abandonStreamKey, StreamQueues } from "../../service/stream-queue.js";
import type { HealthCheckRequest } from "../../../gen/health/v1/health_pb.js";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../../gen/health/v1/health_pb.js";
import type { HealthStatus } from "./health-status.js";

export interface HealthServiceOptions {
  /** Watch streams open at once; more fail with RESOURCE_EXHAUSTED. */
  readonly maxWatchStreams: number;
  /** The queues of the process's streams; default limits when absent. */
  readonly streamQueues?: StreamQueues;
}

/** grpc.health.v1.Health over a HealthStatus, as grpc-health-probe and Kubernetes gRPC probes expect. */
export function createHealthService(status: HealthStatus, options: HealthServiceOptions): ServiceImpl<typeof Health> {
  let watching = 0;
  const queues = options.streamQueues ?? new StreamQueues();
  return {
    check(req: HealthCheckRequest) {
      const current = status.get(req.service);
      if (current === undefined) throw unknownService(req.service);
      return { status: current };
    },

    list() {
      const statuses = Object.fromEntries([...status.all()].map(([name, s]) => [name, { status: s }]));
      return { statuses };
    },

    async *watch(req: HealthCheckRequest, ctx: HandlerContext) {
      if (watching >= options.maxWatchStreams) {
        throw limitExceeded(
          "max-health-watch-streams",
          `the server holds its maximum of ${options.maxWatchStreams} health watch streams (max-health-watch-streams); use Check instead`,
        );
      }
      watching++;
      // A change only says "read the status again": any number of them merge into one.
      const changes = queues.create<void>("Health.Watch", () => 16, { supersedes: () => true, abandon: ctx.values.get(abandonStreamKey) });
      const unsubscribe = status.onChange(() => changes.push());
      try {
        let sent: ServingStatus | undefined;
        for (;;) {
          const current = status.get(req.service) ?? ServingStatus.SERVICE_UNKNOWN;
          if (current !== sent) {
            sent = current;
            yield { status: current };
          }
          await changes.next(ctx.signal);
        }
      } finally {
        unsubscribe();
        changes.close();
        watching--;
      }
    },
  };
}

function unknownService(service: string): ConnectError {
  return new ConnectError(`health: no service named "${service}"; use "" for the whole server`, Code.NotFound);
}
