import type { ContextValues } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { CallPolicy } from "./policy.js";
import { traceIdKey } from "./trace-id.js";

// Codes that mean the server, not the caller, is at fault.
const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unimplemented]);

/**
 * One log line per call: at debug for every call (procedure, code, duration,
 * trace id when tracing is on; never message contents), at error for server
 * faults always. A stream's line is written when it ends.
 * A request that cannot be read (bad framing, a compressed frame nobody
 * declared, no message or two) is the client's fault whatever its code
 * (the Connect conformance suite wants INTERNAL or UNIMPLEMENTED for some),
 * so it is logged at debug: no client can fill the error log.
 */
export function requestLog(logger: Logger): CallPolicy {
  /** Writes the call's line, if any: `unreadable` when the request could not be read (the client's fault). */
  const ended = (req: { readonly url: string; readonly contextValues: ContextValues }, started: number, error: unknown, unreadable: boolean) => {
    const code = error === undefined ? undefined : ConnectError.from(error).code;
    const fault = code !== undefined && serverFaults.has(code) && !unreadable;
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
  };
  return {
    enter: () => performance.now(),
    exit: ended,
  };
}
