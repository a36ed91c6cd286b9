import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ContextValues } from "@connectrpc/connect";
import type { MethodSerializationLookup } from "@connectrpc/connect/protocol";
import { createMethodSerializationLookup, encodeEnvelope, envelopeDecompress, mergeNonProtocolHeaders } from "@connectrpc/connect/protocol";
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
import type { NodeRequest, NodeResponse } from "./call-context.js";
import { CallContext, headerObject, OpenCalls, responseClosed } from "./call-context.js";
import { onlyMessage, readBody, splitEnvelopes } from "./body.js";
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
  readonly contextValues: (req: NodeRequest) => ContextValues;
  /** JSON codec options (e.g. a registry for google.protobuf.Any); connect-es's defaults when unset. */
  readonly jsonOptions?: Partial<JsonReadOptions & JsonWriteOptions>;
}

/** Answers a request and returns true, or returns false without touching it (for connect-node to serve). */
export type LeanHandler = (req: NodeRequest, res: NodeResponse) => boolean;

type Lookup = MethodSerializationLookup<DescMessage, DescMessage>;

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
  const lookup = (spec: LeanMethodSpec): Lookup => {
    let found = lookups.get(spec);
    if (!found) {
      found = createMethodSerializationLookup(spec.method as never, undefined, options.jsonOptions, { readMaxBytes: options.readMaxBytes, writeMaxBytes: 0xffffffff });
      lookups.set(spec, found);
    }
    return found;
  };
  const endStream = createEndStreamSerialization(options.jsonOptions);

  const context = (spec: LeanMethodSpec, protocol: string, req: NodeRequest, res: NodeResponse, timeoutMs: number | undefined) =>
    new CallContext(spec.method, protocol, req, res, options.contextValues(req), timeoutMs, openCalls);

  async function connectUnary(spec: Extract<LeanMethodSpec, { kind: "unary" }>, binary: boolean, req: NodeRequest, res: NodeResponse) {
    const timeout = parseConnectTimeout(header(req, "connect-timeout-ms"), maxTimeoutMs);
    const ctx = context(spec, "connect", req, res, timeout.timeoutMs);
    const serialization = lookup(spec);
    let status = 200;
    let contentType = binary ? contentTypeUnaryProto : contentTypeUnaryJson;
    let body: Uint8Array;
    try {
      if (timeout.error) throw timeout.error;
      const input = serialization.getI(binary).parse(await readBody(req, options.readMaxBytes));
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
    if (responseClosed(res) || res.headersSent) return;
    const headers = headerObject(ctx.responseHeaderIfAny, { "content-type": contentType, "content-length": String(body.byteLength) });
    headerObject(ctx.responseTrailerIfAny, headers, "trailer-");
    (res as import("node:http").ServerResponse).writeHead(status, headers);
    res.end(body);
  }

  async function grpcUnary(spec: Extract<LeanMethodSpec, { kind: "unary" }>, req: NodeRequest, res: NodeResponse) {
    const timeout = parseGrpcTimeout(header(req, "grpc-timeout"), maxTimeoutMs);
    const ctx = context(spec, "grpc", req, res, timeout.timeoutMs);
    const serialization = lookup(spec);
    let body: Uint8Array | undefined;
    let error: ConnectError | undefined;
    try {
      if (timeout.error) throw timeout.error;
      const input = serialization.getI(true).parse(await readEnvelope(req, "unary"));
      body = encodeEnvelope(0, serialization.getO(true).serialize(await invokeUnary(spec, ctx, input, options.interceptors)));
    } catch (e) {
      error = asConnectError(e);
      ctx.abort(error);
    } finally {
      ctx.end();
    }
    if (responseClosed(res) || res.headersSent) return;
    (res as import("node:http").ServerResponse).writeHead(200, headerObject(ctx.responseHeaderIfAny, { "content-type": grpcContentTypeProto }));
    res.addTrailers(grpcTrailers(ctx, error));
    if (body) res.end(body);
    else res.end();
  }

  async function serverStream(spec: Extract<LeanMethodSpec, { kind: "server_streaming" }>, protocol: "connect" | "grpc", binary: boolean, req: NodeRequest, res: NodeResponse) {
    const timeout =
      protocol === "grpc" ? parseGrpcTimeout(header(req, "grpc-timeout"), maxTimeoutMs) : parseConnectTimeout(header(req, "connect-timeout-ms"), maxTimeoutMs);
    const ctx = context(spec, protocol, req, res, timeout.timeoutMs);
    const serialization = lookup(spec);
    const contentType = protocol === "grpc" ? grpcContentTypeProto : binary ? contentTypeStreamProto : contentTypeStreamJson;
    const sendHeaders = () => {
      if (!res.headersSent) (res as import("node:http").ServerResponse).writeHead(200, headerObject(ctx.responseHeaderIfAny, { "content-type": contentType }));
    };
    let error: ConnectError | undefined;
    let stream: Awaited<ReturnType<typeof invokeServerStream>> | undefined;
    /** The messages themselves failed (the implementation threw or ended on its signal): nothing left to return(). */
    let iteratorFailed = false;
    try {
      if (timeout.error) throw timeout.error;
      const input = serialization.getI(binary).parse(await readEnvelope(req, "server-streaming"));
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
        if (responseClosed(res)) throw new ConnectError("the client closed the stream", Code.Canceled);
        sendHeaders();
        const flushed = (res as import("node:http").ServerResponse).write(encodeEnvelope(0, serialize.serialize(next.value as never)));
        next = undefined;
        // The next message is asked for at once, so that a stream failing meanwhile (its queue overflowing for a
        // client that stopped reading) ends with its status in the trailers, queued behind what the client has
        // yet to read, rather than waiting for a drain that may never come. A message is written only once drained.
        pending = pull();
        if (!flushed) {
          const drain = drained(res);
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
    if (responseClosed(res)) return;
    sendHeaders();
    if (protocol === "grpc") {
      res.addTrailers(grpcTrailers(ctx, error));
      res.end();
    } else {
      const end = endStream.serialize({ metadata: ctx.responseTrailerIfAny ?? new Headers(), ...(error && { error }) });
      res.end(encodeEnvelope(endStreamFlag, end));
    }
  }

  /** The one message of an enveloped request body, uncompressed. */
  async function readEnvelope(req: NodeRequest, kind: "unary" | "server-streaming"): Promise<Uint8Array> {
    const envelopes = splitEnvelopes(await readBody(req, options.readMaxBytes + 5, options.readMaxBytes), options.readMaxBytes);
    const only = onlyMessage(envelopes, kind);
    return (await envelopeDecompress(only, null, options.readMaxBytes)).data;
  }

  return (req, res) => {
    if (req.method !== "POST") return false;
    const spec = table.get(req.url);
    if (!spec) return false;
    const contentType = req.headers["content-type"];
    if (contentType === undefined) return false;
    if (contentType === "application/grpc" || contentType === grpcContentTypeProto) {
      if (req.httpVersionMajor !== 2 || !identity(req.headers["grpc-encoding"])) return false;
      if (spec.kind === "unary") void grpcUnary(spec, req, res);
      else void serverStream(spec, "grpc", true, req, res);
      return true;
    }
    const type = parseContentType(contentType);
    if (type === undefined) return false;
    if (spec.kind === "unary") {
      if (type.stream || !identity(req.headers["content-encoding"])) return false;
      void connectUnary(spec, type.binary, req, res);
    } else {
      if (!type.stream || !identity(req.headers["connect-content-encoding"])) return false;
      void serverStream(spec, "connect", type.binary, req, res);
    }
    return true;
  };
}

function header(req: NodeRequest, name: string): string | null {
  const value = req.headers[name];
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

/** Resolves when `res` can take more, or has closed. */
function drained(res: NodeResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}
