import { Code, ConnectError } from "@connectrpc/connect";

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
