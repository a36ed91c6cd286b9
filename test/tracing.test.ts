import { randomBytes } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { afterEach, describe, expect, it } from "vitest";
import { SignalingService } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
import { configOf } from "./support/config-of.js";
import { expectCode, offer, take } from "./support/fixtures.js";
import { startTestServer } from "./support/test-server.js";

const signaling = "signaling.v1.SignalingService";
let server: RunningServer | undefined;

afterEach(async () => {
  await server?.shutdown(0);
  server = undefined;
});

/** A client span of our own: what a traced client sends as W3C traceparent. */
function clientSpan() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  const propagate: Interceptor = (next) => (req) => {
    req.header.set("traceparent", `00-${traceId}-${spanId}-01`);
    return next(req);
  };
  return { traceId, spanId, propagate };
}

async function tracedServer() {
  const exporter = new InMemorySpanExporter();
  const lines: string[] = [];
  server = await startTestServer({}, { spanExporter: exporter, logger: createLogger("debug", (line) => lines.push(line)) });
  return {
    url: server.url,
    spans: () => exporter.getFinishedSpans(),
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r["msg"] === "request"),
  };
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const named = (spans: ReadableSpan[], name: string) => spans.filter((s) => s.name === name);

describe("tracing", () => {
  it("makes each RPC a server span, child of the client's traceparent, with store calls as its children", async () => {
    const { url, spans, logs } = await tracedServer();
    const { traceId, spanId, propagate } = clientSpan();
    const client = createClient(SignalingService, createGrpcTransport({ baseUrl: url, interceptors: [propagate] }));
    const { channelId, offererToken } = await client.createChannel({});
    await client.setOffer({ channelId, token: offererToken, offer });

    const [create] = named(spans(), `${signaling}/CreateChannel`);
    const [setOffer] = named(spans(), `${signaling}/SetOffer`);
    for (const rpc of [create!, setOffer!]) {
      expect(rpc.kind).toBe(SpanKind.SERVER);
      expect(rpc.spanContext().traceId).toBe(traceId);
      expect(parentOf(rpc)).toBe(spanId);
      expect(rpc.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": signaling, "rpc.grpc.status_code": 0 });
    }
    const [createStore] = named(spans(), "channels.createChannel");
    expect(createStore!.kind).toBe(SpanKind.CLIENT);
    expect(createStore!.spanContext().traceId).toBe(traceId);
    expect(parentOf(createStore!)).toBe(create!.spanContext().spanId);
    // SetOffer reads the channel (token check) and writes it: both store spans are its children.
    const setOfferChildren = spans().filter((s) => parentOf(s) === setOffer!.spanContext().spanId).map((s) => s.name);
    expect(setOfferChildren).toEqual(expect.arrayContaining(["channels.getChannel", "channels.setOffer"]));
    // The request log names the trace.
    expect(logs().map((r) => r["traceId"])).toEqual([traceId, traceId]);
  });

  it("parents the store calls of a stream to the stream's span, and starts a new trace without traceparent", async () => {
    const { url, spans } = await tracedServer();
    const client = createClient(SignalingService, createConnectTransport({ baseUrl: url, httpVersion: "1.1" }));
    const { channelId } = await client.createChannel({});
    await take(client.watchChannel({ channelId }), 1);
    await expect.poll(() => named(spans(), `${signaling}/WatchChannel`).length).toBe(1);

    const [watch] = named(spans(), `${signaling}/WatchChannel`);
    expect(watch!.parentSpanContext).toBeUndefined();
    expect(watch!.attributes).toMatchObject({ "rpc.system": "connect_rpc", "rpc.connect_rpc.error_code": "canceled" });
    const children = spans().filter((s) => parentOf(s) === watch!.spanContext().spanId).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(["channels.watchChannel", "channels.getChannel"]));
    const [create] = named(spans(), `${signaling}/CreateChannel`);
    expect(create!.spanContext().traceId).not.toBe(watch!.spanContext().traceId);
  });

  it("marks a span failed only for the server's faults, not for the caller's mistakes", async () => {
    const { url, spans } = await tracedServer();
    const client = createClient(SignalingService, createGrpcTransport({ baseUrl: url }));
    await expectCode(client.getOffer({ channelId: crypto.randomUUID() }), Code.NotFound);
    const [get] = named(spans(), `${signaling}/GetOffer`);
    expect(get!.attributes["rpc.grpc.status_code"]).toBe(Code.NotFound);
    expect(get!.status.code).toBe(SpanStatusCode.UNSET);
    const [store] = named(spans(), "channels.getChannel");
    expect(store!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("sends the spans to <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces as OTLP protobuf, flushed on shutdown", async () => {
    const received: { path: string | undefined; contentType: string | undefined; body: Buffer }[] = [];
    const collector = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        received.push({ path: req.url, contentType: req.headers["content-type"], body: Buffer.concat(chunks) });
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    try {
      const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/`;
      const config = configOf([], { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: "switchboard-under-test" });
      const running = await startTestServer({ tracing: config.tracing });
      await createClient(SignalingService, createGrpcTransport({ baseUrl: running.url })).createChannel({});
      await running.shutdown(0);
      expect(received.map((r) => [r.path, r.contentType])).toEqual([["/v1/traces", "application/x-protobuf"]]);
      const body = received[0]!.body.toString("latin1");
      for (const text of [`${signaling}/CreateChannel`, "channels.createChannel", "switchboard-under-test"]) expect(body).toContain(text);
    } finally {
      collector.close();
    }
  });

  it("is off by default, and turned on by OTEL_EXPORTER_OTLP_ENDPOINT", () => {
    expect(configOf([]).tracing).toBeUndefined();
    expect(configOf([], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SERVICE_NAME: "signal" }).tracing).toEqual({
      endpoint: "http://collector:4318",
      serviceName: "signal",
      sampleRatio: 1,
    });
    expect(() => configOf(["--otlp-endpoint", "collector:4318"])).toThrow(/--otlp-endpoint \/ SWITCHBOARD_OTLP_ENDPOINT: must be an http/);
  });
});
