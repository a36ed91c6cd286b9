import type { ConnectError, Interceptor } from "@connectrpc/connect";
import type { Broadcast } from "../../lib/broadcast.js";
import type { Logger } from "../logger.js";
import { errorTranslation } from "./errors.js";
import type { ServerMetrics } from "../metrics/server-metrics.js";
import { hardStop } from "./hard-stop.js";
import type { RateLimiter } from "./rate-limit.js";
import { rateLimit } from "./rate-limit.js";
import { rpcMetrics } from "./metrics.js";
import { requestLog } from "./request-log.js";

export interface PipelineOptions {
  readonly logger: Logger;
  /** Fires at the end of the shutdown grace period: calls still running then fail with its reason. */
  readonly cut: Broadcast<ConnectError>;
  /** Per-client budgets by method class (shared with the JSON endpoint); absent: no rate limits. */
  readonly rateLimits?: RateLimiter;
  /** Prometheus metrics; none are kept when undefined (`--metrics off`). */
  readonly metrics?: {
    readonly metrics: ServerMetrics;
    /** Service type name → the `kind` its server streams count under in switchboard_open_streams. */
    readonly streamKinds: ReadonlyMap<string, string>;
  };
  /**
   * The tracing interceptor (tracing.ts), when tracing is on. The caller
   * loads it with a dynamic import, so no OpenTelemetry code loads otherwise.
   */
  readonly tracing?: Interceptor;
}

/**
 * Every policy applied to every RPC, outermost first, as Connect interceptors.
 * Each route that serves RPCs (the connect-node adapter, and any leaner path)
 * runs exactly this list, so a policy is written once and holds everywhere.
 * Order: the trace span first (so everything after runs inside it and logs
 * can name it), then observers (so rejections are logged and counted), then
 * the rate limit (its refusals are ConnectErrors already), then the
 * translation of the handler's errors into status codes (so observers see the
 * code the client gets), then the hard stop closest to the handler.
 */
export function callPipeline(options: PipelineOptions): Interceptor[] {
  return [
    ...(options.tracing ? [options.tracing] : []),
    requestLog(options.logger),
    ...(options.metrics ? [rpcMetrics(options.metrics.metrics, options.metrics.streamKinds)] : []),
    ...(options.rateLimits ? [rateLimit(options.rateLimits)] : []),
    errorTranslation(options.logger),
    hardStop(options.cut),
  ];
}
