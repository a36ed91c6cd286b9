import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { observeOutcome } from "./outcome.js";

// Codes that mean the server, not the caller, is at fault.
const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unimplemented]);

/**
 * One log line per call: at debug for every call (procedure, protocol, code,
 * duration; never message contents), at error for server faults always.
 */
export function requestLog(logger: Logger): Interceptor {
  return (next) => (req) => {
    const started = performance.now();
    const finish = (error?: unknown) => {
      const code = error === undefined ? "ok" : Code[ConnectError.from(error).code];
      const fields = { procedure: req.url.slice(req.url.indexOf("/", 8)), code, ms: Math.round(performance.now() - started) };
      if (error !== undefined && serverFaults.has(ConnectError.from(error).code)) {
        logger.error("request failed", { ...fields, error: String(error) });
      } else if (logger.isEnabled("debug")) {
        logger.debug("request", fields);
      }
    };
    return observeOutcome(() => next(req), {
      succeeded: () => finish(),
      failed: (error) => {
        finish(error);
        return error;
      },
    });
  };
}
