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
 * A request that cannot be read (bad framing, a compressed frame nobody
 * declared, no message or two) is the client's fault whatever its code
 * (the Connect conformance suite wants INTERNAL or UNIMPLEMENTED for some),
 * so it is logged at debug: no client can fill the error log.
 */
export function requestLog(logger: Logger): Interceptor {
  return (next) => (request) => {
    const started = performance.now();
    // Only streams read their request messages after this point (a unary message is decoded before it).
    const input: Seen | undefined = request.stream ? { messages: 0, errors: undefined } : undefined;
    const req = request.stream && input ? { ...request, message: noticingErrors(request.message, input) } : request;
    // A server-streaming call takes one message: none or a second is a request that cannot be read.
    const unreadable = (error: unknown) =>
      input !== undefined && (input.errors?.has(error as object) === true || (req.method.methodKind === "server_streaming" && input.messages !== 1));
    return whenCallEnds(next(req), (error) => {
      const code = error === undefined ? undefined : ConnectError.from(error).code;
      const fault = code !== undefined && serverFaults.has(code) && !unreadable(error);
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

/** What a streaming call's request messages did: how many were read, and the errors reading them threw (made on the first). */
interface Seen {
  messages: number;
  errors: WeakSet<object> | undefined;
}

/**
 * Counts the messages read and remembers the errors thrown reading them (a
 * request that could not be decoded is the client's fault, not a server
 * fault). An iterator of promise chains rather than an async generator: a
 * server-streaming call holds its request for as long as it is open, and a
 * generator's frame stays allocated even after it has finished.
 */
function noticingErrors<T>(messages: AsyncIterable<T>, seen: Seen): AsyncIterable<T> {
  const failed = (error: unknown): never => {
    if (typeof error === "object" && error !== null) (seen.errors ??= new WeakSet()).add(error);
    throw error;
  };
  return {
    [Symbol.asyncIterator]() {
      const inner = messages[Symbol.asyncIterator]();
      return {
        next: () =>
          inner.next().then((result) => {
            if (!result.done) seen.messages++;
            return result;
          }, failed),
        return: (value?: unknown) => (inner.return ? inner.return(value as never) : Promise.resolve({ done: true as const, value: value as T })),
      };
    },
  };
}
