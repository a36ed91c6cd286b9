import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** Response metadata naming the setting a RESOURCE_EXHAUSTED error hit (also what metrics count by). */
export const limitSettingHeader = "switchboard-limit";

/**
 * The error for a call refused by a limit: RESOURCE_EXHAUSTED, a message that
 * names the setting (so an operator knows which knob to turn) and the setting
 * in metadata, so observers (metrics, logs) can count refusals by setting
 * without parsing messages. Every limit in the service refuses through this.
 */
export function limitExceeded(setting: string, message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.ResourceExhausted, { [limitSettingHeader]: setting }, undefined, cause);
}

/** The setting a refusal names, when the error came from `limitExceeded`. */
export function limitSettingOf(error: ConnectError): string | undefined {
  return error.code === Code.ResourceExhausted ? (error.metadata.get(limitSettingHeader) ?? undefined) : undefined;
}

/** Response metadata telling a client how many seconds to wait before retrying (as HTTP's Retry-After). */
export const retryAfterHeader = "retry-after";

/**
 * Adds what a client needs to retry a refused call at the right time: a
 * google.rpc.RetryInfo in the error details (gRPC and Connect clients read
 * it with `error.findDetails(RetryInfoSchema)`) and `retry-after` metadata
 * in whole seconds, rounded up (a header over Connect, a trailer over gRPC).
 */
export function withRetryDelay(error: ConnectError, delayMs: number): ConnectError {
  const seconds = Math.max(1, Math.ceil(delayMs / 1000));
  error.metadata.set(retryAfterHeader, String(seconds));
  error.details.push({ desc: RetryInfoSchema, value: { retryDelay: durationFromMs(Math.max(1, Math.ceil(delayMs))) } });
  return error;
}
