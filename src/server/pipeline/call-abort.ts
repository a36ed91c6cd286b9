import type { ConnectError, createHandlerContext, HandlerContext } from "@connectrpc/connect";
import type { Broadcast } from "../../lib/broadcast.js";

/**
 * A request gate step that aborts the call's own signal (`ctx.signal` in
 * handlers) when `shutdown` fires: open watch streams then end with its
 * reason (UNAVAILABLE). It stands in for the router's `shutdownSignal`,
 * which links every call to one shared AbortSignal (O(open calls) per call
 * opened and per call ended); here each call joins and leaves in O(1).
 * The call leaves when its signal aborts, which Connect does when the call
 * ends, and which the client's cancel or a deadline does earlier.
 */
export function abortOnShutdown(shutdown: Broadcast<ConnectError>): (context: HandlerContext) => void {
  return (context) => {
    if (context.signal.aborted) return;
    // Connect hands the gate the context it made with createHandlerContext, which has abort().
    const { abort } = context as ReturnType<typeof createHandlerContext>;
    if (typeof abort !== "function") throw new TypeError("abortOnShutdown needs a context made by createHandlerContext");
    const leave = shutdown.add((reason) => abort(reason));
    context.signal.addEventListener("abort", leave, { once: true });
  };
}
