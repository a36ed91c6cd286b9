import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace";
import { BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler, TracerProvider } from "@opentelemetry/sdk-trace";
import type { Interceptor } from "@connectrpc/connect";
import type { TracingConfig } from "./config.js";
import type { StoreSpans } from "./instrumented-store.js";
import { storeSpans, tracingInterceptor } from "./pipeline/tracing.js";

export interface Tracing {
  readonly interceptor: Interceptor;
  readonly storeSpans: StoreSpans;
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions extends TracingConfig {
  /** Which store the spans name (memory or mongodb). */
  readonly backend: string;
  /** Export here, span by span, instead of to the OTLP endpoint (tests: InMemorySpanExporter). */
  readonly exporter?: SpanExporter;
}

/** How long shutdown waits for the last spans to reach the collector; an unreachable one must not hold the stop. */
const flushOnStopMs = 2000;
/** How long one batch export may take (the SDK's default is 30 s). */
const exportTimeoutMs = 10_000;

let contextManagerSet = false;

/**
 * The OpenTelemetry SDK for this server: a tracer provider exporting over
 * OTLP/HTTP (protobuf) in batches, W3C trace context from clients, and
 * AsyncLocalStorage so spans follow a call through its awaits. This module is
 * imported only when tracing is on: with it off, no OpenTelemetry code loads.
 */
export function startTracing(options: TracingOptions): Tracing {
  if (!contextManagerSet) {
    // Process-wide, once: every tracing server in the process shares it (it keeps no spans).
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerSet = true;
  }
  const processor: SpanProcessor = options.exporter
    ? new SimpleSpanProcessor({ exporter: options.exporter })
    : // Holds at most the SDK's 2048 spans while the collector is slow or down; more are dropped, never queued without bound.
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: tracesUrl(options.endpoint) }), exportTimeoutMillis: exportTimeoutMs });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer("switchboard");
  return {
    interceptor: tracingInterceptor(tracer, new W3CTraceContextPropagator()),
    storeSpans: storeSpans(tracer, options.backend),
    shutdown: () =>
      new Promise<void>((resolve) => {
        setTimeout(resolve, flushOnStopMs).unref();
        provider.shutdown().then(resolve, resolve);
      }),
  };
}

/** OTEL_EXPORTER_OTLP_ENDPOINT is a base URL: traces go to its /v1/traces (as every OpenTelemetry SDK does). */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}
