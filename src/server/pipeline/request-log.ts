import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import { whenCallEnds } from "./call-end.js";
import { traceIdKey } from "./trace-id.js";

// Codes that mean the server, not the caller, is at fault.
const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unimplemented]);

/**
 * One log line per call: at debug for every call (procedure, code, duration,
 * trace id when tracing is on; never message contents), at error for server
 * faults always. A stream's line is written when it ends.
 */
export function requestLog(logger: Logger): Interceptor {
  return (next) => (req) => {
    const started = performance.now();
    return whenCallEnds(next(req), (error) => {
      const code = error === undefined ? undefined : ConnectError.from(error).code;
      const fault = code !== undefined && serverFaults.has(code);
      if (!fault && !logger.isEnabled("debug")) return;
      const traceId = req.contextValues.get(traceIdKey);
      const fields = {
        procedure: req.url.slice(req.url.indexOf("/", 8)),
        code: code === undefined ? "ok" : Code[code],
        ms: Math.round(performance.now() - started),
        ...(traceId !== "" && { traceId }),
      };
      if (fault) logger.error("request failed", { ...fields, error: String(error) });
      else logger.debug("request", fields);
    });
  };
}
