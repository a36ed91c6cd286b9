import { randomBytes } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { storeFailureError } from "../../service/store-failures.js";
import type { Logger } from "../logger.js";
import { mapErrors } from "./map-errors.js";

/** Response metadata carrying the id of an INTERNAL error, also in the server's error log line. */
export const correlationIdHeader = "switchboard-correlation-id";

/**
 * Every error a handler throws, as the client sees it, for every service
 * and for unary and streaming calls alike:
 * - a channel or room store failure becomes its status code and message
 *   (store-failures.ts; limits through limitExceeded);
 * - a ConnectError stays as it is, and so does a cancellation;
 * - anything else (a bug, a driver error nobody expected) becomes INTERNAL
 *   with a generic message and a short random correlation id; the real error
 *   goes to the log under that id, never to the client.
 */
export function errorTranslation(logger: Logger): Interceptor {
  return (next) => (req) => mapErrors(next(req), (error) => bounded(translate(error, req.url.slice(req.url.indexOf("/", 8)), logger)));
}

/**
 * Longest error message a client gets, in characters. A message may quote what the client sent; gRPC carries it
 * in a trailer, and a header block over 64 KiB cannot be sent at all (node then resets the stream with
 * FRAME_SIZE_ERROR and closes the whole HTTP/2 connection, refusing every other call on it).
 */
export const maxErrorMessageChars = 1024;

/** The error with its message cut to maxErrorMessageChars. */
function bounded(error: ConnectError): ConnectError {
  const message = error.rawMessage;
  if (message.length <= maxErrorMessageChars) return error;
  const cut = `${message.slice(0, maxErrorMessageChars)}… (cut at ${maxErrorMessageChars} characters)`;
  return new ConnectError(cut, error.code, error.metadata, error.details as ConstructorParameters<typeof ConnectError>[3], error.cause);
}

function translate(error: unknown, procedure: string, logger: Logger): ConnectError {
  const known = storeFailureError(error);
  if (known) return known;
  if (error instanceof ConnectError) return error;
  if (error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError")) return ConnectError.from(error);
  const correlationId = randomBytes(6).toString("base64url");
  logger.error("unexpected error", {
    procedure,
    correlationId,
    error: String(error),
    ...(error instanceof Error && error.stack !== undefined && { stack: error.stack }),
  });
  return new ConnectError(
    `internal error (correlation id ${correlationId}); the server's log has the details under that id`,
    Code.Internal,
    { [correlationIdHeader]: correlationId },
  );
}
