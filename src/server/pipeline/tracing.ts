import type { Context, Span, TextMapGetter, TextMapPropagator, Tracer } from "@opentelemetry/api";
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { StoreSpans } from "../instrumented-store.js";
import { isStoreFault } from "../instrumented-store.js";
import { whenCallEnds, withMessages } from "./call-end.js";
import { protocolIndex } from "./protocol.js";
import { traceIdKey } from "./trace-id.js";

/** Codes that mark a server span as failed (OpenTelemetry's RPC conventions: the server's fault, not the caller's). */
const serverErrors = new Set([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => {
    const keys: string[] = [];
    headers.forEach((_, key) => keys.push(key));
    return keys;
  },
};

/**
 * One SERVER span per call, child of the client's span when the request
 * carries a W3C `traceparent` (else a new trace), named
 * `<service>/<method>`. Everything after it in the pipeline, the handler and
 * its store calls run with the span active, so store spans (storeSpans) are
 * its children; the trace id goes into the call's context values for logs.
 * Only loaded when tracing is on.
 */
export function tracingInterceptor(tracer: Tracer, propagator: TextMapPropagator): Interceptor {
  return (next) => (req) => {
    const parent = propagator.extract(ROOT_CONTEXT, req.header, headerGetter);
    const grpc = protocolIndex(req.header.get("content-type")) !== 0;
    const span = tracer.startSpan(
      `${req.service.typeName}/${req.method.name}`,
      {
        kind: SpanKind.SERVER,
        attributes: { "rpc.system": grpc ? "grpc" : "connect_rpc", "rpc.service": req.service.typeName, "rpc.method": req.method.name },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    req.contextValues.set(traceIdKey, span.spanContext().traceId);
    const response = context.with(active, () => whenCallEnds(next(req), (error) => endCallSpan(span, grpc, error)));
    return response.then((res) => (res.stream ? withMessages(res, inContext(res.message, active)) : res));
  };
}

function endCallSpan(span: Span, grpc: boolean, error: unknown): void {
  const code = error === undefined ? undefined : ConnectError.from(error).code;
  if (grpc) span.setAttribute("rpc.grpc.status_code", code ?? 0);
  else if (code !== undefined) span.setAttribute("rpc.connect_rpc.error_code", codeToString(code));
  if (code !== undefined && serverErrors.has(code)) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: ConnectError.from(error).rawMessage });
  }
  span.end();
}

/**
 * A stream's messages, each produced with `ctx` active: a streaming handler
 * runs as its messages are pulled, by code outside the call's context, so
 * without this its store calls would have no parent span.
 */
function inContext<T>(messages: AsyncIterable<T>, ctx: Context): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const inner = messages[Symbol.asyncIterator]();
      return {
        next: (...args: [] | [unknown]) => context.with(ctx, () => inner.next(...args)),
        return: (value?: unknown) => context.with(ctx, () => inner.return?.(value) ?? Promise.resolve({ done: true as const, value: value as T })),
        throw: (error?: unknown) => context.with(ctx, () => inner.throw?.(error) ?? Promise.reject(error as Error)),
      };
    },
  };
}

/**
 * Store calls as CLIENT spans `<store>.<operation>`, children of the active
 * span; calls made outside any span (health probes, timers) are not traced.
 */
export function storeSpans(tracer: Tracer, backend: string): StoreSpans {
  return (store, operation, call) => {
    const parent = context.active();
    if (trace.getSpan(parent) === undefined) return call();
    const span = tracer.startSpan(
      `${store}.${operation}`,
      { kind: SpanKind.CLIENT, attributes: { "switchboard.store": store, "switchboard.store.backend": backend, "db.operation.name": operation } },
      parent,
    );
    let result: ReturnType<typeof call>;
    try {
      result = context.with(trace.setSpan(parent, span), call);
    } catch (error) {
      // A store answering synchronously (the memory store) throws its failure at once.
      return endFailed(span, error);
    }
    if (!(result instanceof Promise)) {
      span.end();
      return result;
    }
    return result.then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (error: unknown) => endFailed(span, error),
    ) as typeof result;
  };
}

/** Ends a store call's span with its failure (marked as an error when it is the store's fault), and throws it on. */
function endFailed(span: Span, error: unknown): never {
  if (isStoreFault(error)) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
  }
  span.end();
  throw error;
}
