import type { ConnectError, Interceptor } from "@connectrpc/connect";
import type { Broadcast } from "../../lib/broadcast.js";
import type { CallPolicy } from "./policy.js";

/**
 * Fails every call still running when `cut` fires, with its reason, so a
 * client cut off at the end of the shutdown grace period gets a proper
 * status (UNAVAILABLE: retry elsewhere) rather than a torn connection.
 * Each call joins `cut` in O(1) (not as a listener of one shared
 * AbortSignal, whose add and remove are O(open calls)).
 */
export function hardStop(cut: Broadcast<ConnectError>): CallPolicy {
  const interceptor: Interceptor = (next) => (req) =>
    new Promise((resolve, reject) => {
      const leave = cut.add(reject);
      next(req).then(resolve, reject).finally(leave);
    });
  return {
    unary: {
      enter: (_req, fail) => cut.add(fail),
      exit: (_req, leave: () => void) => leave(),
    },
    interceptor,
  };
}
