import type { ConnectError, HandlerContext, Interceptor } from "@connectrpc/connect";
import type { Broadcast } from "../../lib/broadcast.js";
import type { Logger } from "../logger.js";
import { abortOnShutdown } from "./call-abort.js";
import { hardStop } from "./hard-stop.js";
import { requestLog } from "./request-log.js";

export interface PipelineOptions {
  readonly logger: Logger;
  /**
   * Fires when the server starts shutting down: every call's signal aborts with its reason, so watch
   * streams end with it. Use this instead of the router's `shutdownSignal` (see call-abort.ts).
   */
  readonly shutdown: Broadcast<ConnectError>;
  /** Fires at the end of the shutdown grace period: calls still running then fail with its reason. */
  readonly cut: Broadcast<ConnectError>;
}

/**
 * Every policy applied to every RPC, outermost first, as Connect interceptors.
 * Each route that serves RPCs (the connect-node adapter, and any leaner path)
 * runs exactly this list, so a policy is written once and holds everywhere.
 * Order: observe first (so rejections are logged and counted), then policies
 * that may refuse a call, then the hard stop closest to the handler.
 */
export function callPipeline(options: PipelineOptions): Interceptor[] {
  return [requestLog(options.logger), hardStop(options.cut)];
}

/**
 * What runs for every call once its headers are in and before its body is
 * read (the router's `requestGate`): a route that builds its own
 * HandlerContext (a lean path) calls it with that context too.
 */
export function callGate(options: PipelineOptions): (context: HandlerContext) => void {
  const onShutdown = abortOnShutdown(options.shutdown);
  return (context) => {
    onShutdown(context);
  };
}
