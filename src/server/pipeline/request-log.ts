import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../logger.js";

// Codes that mean the server, not the caller, is at fault.
const serverFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unimplemented]);

/**
 * One log line per call: at debug for every call (procedure, protocol, code,
 * duration; never message contents), at error for server faults always.
 */
export function requestLog(logger: Logger): Interceptor {
  return (next) => async (req) => {
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
    let res;
    try {
      res = await next(req);
    } catch (error) {
      finish(error);
      throw error;
    }
    if (!res.stream) {
      finish();
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
          finish();
        } catch (error) {
          finish(error);
          throw error;
        }
      })(),
    };
  };
}
