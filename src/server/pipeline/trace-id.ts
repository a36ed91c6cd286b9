import { createContextKey } from "@connectrpc/connect";

/**
 * The trace id of the call's span, set by the tracing interceptor when tracing
 * is on ("" otherwise), so that logs can name it without loading OpenTelemetry.
 */
export const traceIdKey = createContextKey<string>("", { description: "the call's OpenTelemetry trace id" });
