import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { errorTranslation } from "./errors.js";
import { hardStop } from "./hard-stop.js";
import { requestLog } from "./request-log.js";

export interface PipelineOptions {
  readonly logger: Logger;
  /** Fires at the end of the shutdown grace period: calls still running then fail with its reason. */
  readonly cutSignal: AbortSignal;
}

/**
 * Every policy applied to every RPC, outermost first, as Connect interceptors.
 * Each route that serves RPCs (the connect-node adapter, and any leaner path)
 * runs exactly this list, so a policy is written once and holds everywhere.
 * Order: observe first (so rejections are logged and counted), then the
 * translation of errors into status codes (so observers see the code the
 * client gets), then policies that may refuse a call, then the hard stop
 * closest to the handler.
 */
export function callPipeline(options: PipelineOptions): Interceptor[] {
  return [requestLog(options.logger), errorTranslation(options.logger), hardStop(options.cutSignal)];
}
