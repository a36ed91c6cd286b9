import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues } from "@connectrpc/connect";
import type { MethodSerializationLookup } from "@connectrpc/connect/protocol";
import { createMethodSerializationLookup, envelopeDecompress, mergeNonProtocolHeaders } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeStreamJson,
  contentTypeStreamProto,
  contentTypeUnaryJson,
  contentTypeUnaryProto,
  createEndStreamSerialization,
  endStreamFlag,
  errorToJsonBytes,
  parseContentType,
  parseTimeout as parseConnectTimeout,
} from "@connectrpc/connect/protocol-connect";
import { contentTypeProto as grpcContentTypeProto, parseTimeout as parseGrpcTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { DescMessage, JsonReadOptions, JsonWriteOptions } from "@bufbuild/protobuf";
import type { Broadcast } from "../../lib/broadcast.js";
import type * as http2 from "node:http2";
import type { ClientRequest } from "../pipeline/client-address.js";
import { CallContext, headerObject, OpenCalls } from "./call-context.js";
import type { Exchange, NodeRequest, NodeResponse } from "./exchange.js";
import { NodeExchange, StreamExchange } from "./exchange.js";
import { encodeEnvelope, onlyMessage, readBody, splitEnvelopes } from "./body.js";
import { invokeServerStream, invokeUnary } from "./invoke.js";
import type { LeanMethodSpec, RouteTable } from "./route-table.js";

/**
 * What both routes are built from (connect-node's adapter takes the same
 * object): one place for the read limit, deadline cap, shutdown signal,
 * interceptor list and per-call context values.
 */
export interface RpcOptions {
  readonly readMaxBytes: number;
  /** Longest deadline a client may ask for; undefined for no cap. */
  readonly maxTimeoutMs?: number;
  /** Fires when the server starts shutting down: every open call's signal aborts with its reason. */
  readonly shutdown: Broadcast<ConnectError>;
  readonly interceptors: Interceptor[];
  readonly contextValues: (req: ClientRequest) => ContextValues;
  /** JSON codec options (e.g. a registry for google.protobuf.Any); connect-es's defaults when unset. */
  readonly jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
}

/**
 * Answers a call and returns true, or returns false without touching it (for connect-node to serve):
 * on Node's request API, or on an HTTP/2 stream directly.
 */
export interface LeanHandler {
  request(req: NodeRequest, res: NodeResponse): boolean;
  stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean;
}

type Lookup = MethodSerializationLookup<DescMessage, DescMessage>;

/**
 * A JSON message's bytes from Node's Buffer pool: TextEncoder makes each an ArrayBuffer of its own, about
 * 2 µs to allocate and collect in Node 24 (see pooled-protobuf-writer.ts). Connect's own serialization option.
 */
const pooledTextEncoder = { encode: (text = "") => Buffer.from(text, "utf8") as Uint8Array<ArrayBuffer> };

const identity = (encoding: string | string[] | undefined) => encoding === undefined || encoding === "identity";

/**
 * The lean path: unary and server-streaming calls of the Connect protocol
 * (JSON or binary, POST, uncompressed) and of gRPC (binary, uncompressed,
 * HTTP/2), served on node's request and response directly, with connect-es's
 * own wire rules (protocol-connect, protocol-grpc, protocol: content types,
 * timeouts, status mapping, error JSON, end-stream JSON, trailers, envelopes)
 * and the same implementations, interceptors, context values, limits and
 * shutdown broadcast as connect-node. Anything else — compression, GET, gRPC-Web,
 * gRPC+JSON, gRPC over HTTP/1.1, services not in the table — is left to connect-node.
 */
export function createLeanPath(table: RouteTable, options: RpcOptions): LeanHandler {
  const openCalls = new OpenCalls(options.shutdown);
  const maxTimeoutMs = options.maxTimeoutMs ?? Number.MAX_SAFE_INTEGER;
  const lookups = new Map<LeanMethodSpec, Lookup>();
  const jsonSerialization = { ...options.jsonOptions, textEncoder: pooledTextEncoder };
  const lookup = (spec: LeanMethodSpec): Lookup => {
    let found = lookups.get(spec);
    if (!found) {
      found = createMethodSerializationLookup(spec.method as never, undefined, jsonSerialization, { readMaxBytes: options.readMaxBytes, writeMaxBytes: 0xffffffff });
      lookups.set(spec, found);
    }
    return found;
  };
  const endStream = createEndStreamSerialization(options.jsonOptions);

  const context = (spec: LeanMethodSpec, protocol: string, exchange: Exchange, timeoutMs: number | undefined) =>
    new CallContext(spec.method, protocol, exchange, options.contextValues(exchange), timeoutMs, openCalls);

  async function connectUnary(spec: Extract<LeanMethodSpec, { kind: "unary" }>, binary: boolean, exchange: Exchange) {
    const timeout = parseConnectTimeout(header(exchange, "connect-timeout-ms"), maxTimeoutMs);
    const ctx = context(spec, "connect", exchange, timeout.timeoutMs);
    const serialization = lookup(spec);
    let status = 200;
    let contentType = binary ? contentTypeUnaryProto : contentTypeUnaryJson;
    let body: Uint8Array;
    try {
      if (timeout.error) throw timeout.error;
      const input = serialization.getI(binary).parse(await readBody(exchange, options.readMaxBytes));
      body = serialization.getO(binary).serialize(await invokeUnary(spec, ctx, input, options.interceptors));
    } catch (e) {
      const error = asConnectError(e);
      ctx.abort(error);
      status = codeToHttpStatus(error.code);
      contentType = contentTypeUnaryJson;
      if (!error.isWireError) mergeNonProtocolHeaders(ctx.responseHeader, error.metadata);
      body = errorToJsonBytes(error, options.jsonOptions);
    } finally {
      ctx.end();
    }
    if (exchange.closed || exchange.headersSent) return;
    const headers = headerObject(ctx.responseHeaderIfAny, { "content-type": contentType, "content-length": String(body.byteLength) });
    headerObject(ctx.responseTrailerIfAny, headers, "trailer-");
    exchange.sendHeaders(status, headers, false);
    exchange.end(body);
  }

  async function grpcUnary(spec: Extract<LeanMethodSpec, { kind: "unary" }>, exchange: Exchange) {
    const timeout = parseGrpcTimeout(header(exchange, "grpc-timeout"), maxTimeoutMs);
    const ctx = context(spec, "grpc", exchange, timeout.timeoutMs);
    const serialization = lookup(spec);
    let body: Uint8Array | undefined;
    let error: ConnectError | undefined;
    try {
      if (timeout.error) throw timeout.error;
      const input = serialization.getI(true).parse(await readEnvelope(exchange, "unary"));
      body = encodeEnvelope(0, serialization.getO(true).serialize(await invokeUnary(spec, ctx, input, options.interceptors)));
    } catch (e) {
      error = asConnectError(e);
      ctx.abort(error);
    } finally {
      ctx.end();
    }
    if (exchange.closed || exchange.headersSent) return;
    exchange.sendHeaders(200, headerObject(ctx.responseHeaderIfAny, { "content-type": grpcContentTypeProto }), true);
    exchange.end(body, grpcTrailers(ctx, error));
  }

  async function serverStream(spec: Extract<LeanMethodSpec, { kind: "server_streaming" }>, protocol: "connect" | "grpc", binary: boolean, exchange: Exchange) {
    const timeout =
      protocol === "grpc"
        ? parseGrpcTimeout(header(exchange, "grpc-timeout"), maxTimeoutMs)
        : parseConnectTimeout(header(exchange, "connect-timeout-ms"), maxTimeoutMs);
    const ctx = context(spec, protocol, exchange, timeout.timeoutMs);
    const serialization = lookup(spec);
    const contentType = protocol === "grpc" ? grpcContentTypeProto : binary ? contentTypeStreamProto : contentTypeStreamJson;
    const sendHeaders = () => {
      if (!exchange.headersSent) exchange.sendHeaders(200, headerObject(ctx.responseHeaderIfAny, { "content-type": contentType }), protocol === "grpc");
    };
    let error: ConnectError | undefined;
    let stream: Awaited<ReturnType<typeof invokeServerStream>> | undefined;
    /** The messages themselves failed (the implementation threw or ended on its signal): nothing left to return(). */
    let iteratorFailed = false;
    try {
      if (timeout.error) throw timeout.error;
      const input = serialization.getI(binary).parse(await readEnvelope(exchange, "server-streaming"));
      stream = await invokeServerStream(spec, ctx, input, options.interceptors);
      const serialize = serialization.getO(binary);
      const pull = () => {
        const next = stream!.messages.next();
        next.catch(() => {}); // awaited below; a rejection must not count as unhandled meanwhile
        return next;
      };
      let pending = pull();
      // Outside the loop so it can be let go of once written: a suspended frame keeps its last value, and an idle
      // watch stream would hold its last message (a whole channel snapshot) for as long as it is open.
      let next: IteratorResult<unknown> | undefined;
      for (;;) {
        next = await pending.catch((e: unknown) => {
          iteratorFailed = true;
          throw e;
        });
        if (next.done) break;
        if (exchange.closed) throw new ConnectError("the client closed the stream", Code.Canceled);
        sendHeaders();
        const flushed = exchange.write(encodeEnvelope(0, serialize.serialize(next.value as never)));
        next = undefined;
        // The next message is asked for at once, so that a stream failing meanwhile (its queue overflowing for a
        // client that stopped reading) ends with its status in the trailers, queued behind what the client has
        // yet to read, rather than waiting for a drain that may never come. A message is written only once drained.
        pending = pull();
        if (!flushed) {
          const drain = exchange.drained();
          await Promise.race([drain, pending.then(() => drain, () => undefined)]);
        }
      }
      stream.finish();
    } catch (e) {
      error = asConnectError(e);
      ctx.abort(error);
      // Lets the implementation's finally blocks run when the write side failed first.
      if (!iteratorFailed) await stream?.messages.return?.().catch(() => {});
    } finally {
      ctx.end();
    }
    if (exchange.closed) return;
    sendHeaders();
    if (protocol === "grpc") {
      exchange.end(undefined, grpcTrailers(ctx, error));
    } else {
      const end = endStream.serialize({ metadata: ctx.responseTrailerIfAny ?? new Headers(), ...(error && { error }) });
      exchange.end(encodeEnvelope(endStreamFlag, end));
    }
  }

  /** The one message of an enveloped request body, uncompressed. */
  async function readEnvelope(exchange: Exchange, kind: "unary" | "server-streaming"): Promise<Uint8Array> {
    const envelopes = splitEnvelopes(await readBody(exchange, options.readMaxBytes + 5, options.readMaxBytes), options.readMaxBytes);
    const only = onlyMessage(envelopes, kind);
    return (await envelopeDecompress(only, null, options.readMaxBytes)).data;
  }

  /** What serves a call with these headers, or undefined when connect-node must. */
  function route(method: string | undefined, path: string | undefined, headers: http2.IncomingHttpHeaders, httpVersionMajor: number) {
    if (method !== "POST") return undefined;
    const spec = table.get(path);
    if (!spec) return undefined;
    const contentType = headers["content-type"];
    if (contentType === undefined) return undefined;
    if (contentType === "application/grpc" || contentType === grpcContentTypeProto) {
      if (httpVersionMajor !== 2 || !identity(headers["grpc-encoding"])) return undefined;
      return spec.kind === "unary" ? (e: Exchange) => grpcUnary(spec, e) : (e: Exchange) => serverStream(spec, "grpc", true, e);
    }
    const type = parseContentType(contentType);
    if (type === undefined) return undefined;
    if (spec.kind === "unary") {
      if (type.stream || !identity(headers["content-encoding"])) return undefined;
      return (e: Exchange) => connectUnary(spec, type.binary, e);
    }
    if (!type.stream || !identity(headers["connect-content-encoding"])) return undefined;
    return (e: Exchange) => serverStream(spec, "connect", type.binary, e);
  }

  return {
    request(req, res) {
      const serve = route(req.method, req.url, req.headers, req.httpVersionMajor);
      if (!serve) return false;
      void serve(new NodeExchange(req, res));
      return true;
    },
    stream(stream, headers) {
      const serve = route(headers[":method"] as string | undefined, headers[":path"] as string | undefined, headers, 2);
      if (!serve) return false;
      void serve(new StreamExchange(stream, headers));
      return true;
    },
  };
}

function header(exchange: Exchange, name: string): string | null {
  const value = exchange.headers[name];
  return typeof value === "string" ? value : null;
}

/** connect-es's rule: a ConnectError as it is, anything else INTERNAL with the cause kept for logs. */
function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
}

function grpcTrailers(ctx: CallContext, error: ConnectError | undefined): Record<string, string | string[]> {
  const trailer = ctx.responseTrailerIfAny;
  if (!error && !trailer) return { "grpc-status": "0" };
  return headerObject(setTrailerStatus(ctx.responseTrailer, error), {});
}
