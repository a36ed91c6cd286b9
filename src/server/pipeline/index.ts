import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { hardStop } from "./hard-stop.js";
import type { RateLimitOptions } from "./rate-limit.js";
import { rateLimit } from "./rate-limit.js";
import { requestLog } from "./request-log.js";

export interface PipelineOptions {
  readonly logger: Logger;
  /** Fires at the end of the shutdown grace period: calls still running then fail with its reason. */
  readonly cutSignal: AbortSignal;
  /** Per-client budgets by method class; absent: no rate limits. */
  readonly rateLimits?: RateLimitOptions;
}

/**
 * Every policy applied to every RPC, outermost first, as Connect interceptors.
 * Each route that serves RPCs (the connect-node adapter, and any leaner path)
 * runs exactly this list, so a policy is written once and holds everywhere.
 * Order: observe first (so rejections are logged and counted), then policies
 * that may refuse a call, then the hard stop closest to the handler.
 */
export function callPipeline(options: PipelineOptions): Interceptor[] {
  return [
    requestLog(options.logger),
    ...(options.rateLimits ? [rateLimit(options.rateLimits)] : []),
    hardStop(options.cutSignal),
  ];
}
