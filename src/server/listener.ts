import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Socket } from "node:net";
import type { ConnectionLimits } from "./connection-limits.js";
import { defaultConnectionLimits } from "./connection-limits.js";

const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** How long after an early answer (the client still sending) its HTTP/2 stream is reset, so the trailers go first. */
const resetAfterEarlyAnswerMs = 50;

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Serves an HTTP/2 stream directly and returns true, or returns false without touching it. */
export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

/** Why a connection was closed by the listener before it was served, for logs and metrics. */
export type Refusal = "max-connections" | "max-connections-per-client" | "headers-timeout-ms";

export interface ListenerOptions {
  readonly limits?: ConnectionLimits;
  /** Called for each connection closed by a cap or by the first-bytes timeout. */
  readonly onRefused?: (reason: Refusal, address: string) => void;
  /**
   * Peers exempt from `max-connections-per-client` (the trusted proxies: many clients share their
   * address, so a reverse proxy may hold many upstream connections); `max-connections` still counts them.
   */
  readonly exemptFromPerClientCap?: (address: string) => boolean;
  /**
   * Tried first for every HTTP/2 stream; the streams it leaves reach the request handler through Node's
   * request/response API (whose objects cost a unary call about 40 % more CPU).
   */
  readonly streams?: StreamHandler;
}

/**
 * One cleartext port for HTTP/1.1 and HTTP/2 (h2c). Node's HTTP/2 server
 * only falls back to HTTP/1.1 over TLS, so each connection is routed by its
 * first bytes: the HTTP/2 connection preface, or anything else for HTTP/1.1.
 *
 * It also keeps slow and greedy clients from holding the port: caps on open
 * connections (in total and per peer address), a deadline for the first
 * bytes (the HTTP/2 preface, the HTTP/1.1 request headers), a deadline for
 * each request to arrive whole, an idle timeout for connections between
 * requests, and a cap on concurrent HTTP/2 streams per connection.
 */
export class DualProtocolListener {
  readonly tcp: net.Server;
  readonly http1: http.Server;
  readonly http2: http2.Http2Server;
  private readonly limits: ConnectionLimits;
  private readonly sockets = new Set<Socket>();
  private readonly perAddress = new Map<string, number>();
  private readonly sessions = new Set<http2.Http2Session>();
  /** Requests whose body has not arrived whole yet: abandoned at shutdown rather than waited for. */
  private readonly arriving = new Set<http.IncomingMessage | http2.ServerHttp2Stream>();
  /** HTTP/1.1 sockets with a request being served. */
  private readonly busyHttp1 = new Map<Socket, number>();

  constructor(
    handler: RequestHandler,
    private readonly options: ListenerOptions = {},
  ) {
    const limits = (this.limits = options.limits ?? defaultConnectionLimits);
    const serve: RequestHandler = (req, res) => {
      this.trackHttp1(req as http.IncomingMessage, res as http.ServerResponse);
      handler(req, res);
    };
    this.http1 = http.createServer(
      {
        headersTimeout: limits.headersTimeoutMs,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.idleTimeoutMs,
        // How often Node checks those two timeouts (its default, 30 s, would let a slow client stay that much longer).
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
      },
      serve,
    );
    // Node starts checking headersTimeout and requestTimeout (and tracks connections for
    // closeIdleConnections) only when the server itself emits "listening"; this one never listens
    // (the TCP server hands it connections), so it is told here.
    this.http1.emit("listening");
    // No request listener: Node then builds no request and response objects for a stream;
    // serveThroughRequestApi does, for the streams options.streams leaves.
    this.http2 = http2.createServer({
      settings: { maxConcurrentStreams: limits.http2MaxConcurrentStreams },
      streamResetBurst: limits.http2StreamResetBurst,
      streamResetRate: limits.http2StreamResetRate,
    });
    this.http2.on("session", (session) => this.watchSession(session));
    this.http2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      this.trackHttp2(stream);
      if (options.streams?.(stream, headers)) return;
      serveThroughRequestApi(stream, headers, rawHeaders, handler);
    });
    // Nagle off, as Node's own HTTP servers set it when they accept a connection themselves: with it on, a
    // response written in two pieces (HTTP/1.1 headers, then a streamed message) waits for the client's
    // delayed ACK, about 40 ms per exchange.
    this.tcp = net.createServer({ noDelay: true }, (socket) => this.route(socket));
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.tcp.once("error", reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off("error", reject);
        // Node's HTTP/1.1 server tracks its connections (idle or busy, header and request timeouts)
        // only from its "listening" event on; it never listens itself here, so tell it the port is open.
        // Without this closeIdleConnections() sees no connection and a stop waits out every keep-alive one.
        this.http1.emit("listening");
        resolve((this.tcp.address() as net.AddressInfo).port);
      });
    });
  }

  /**
   * Stops accepting connections and asks open ones to finish: GOAWAY for HTTP/2, close-when-idle for
   * HTTP/1.1. Connections that are not being served (still sending their first bytes or headers, idle
   * between requests) close now, and so do requests whose body has not arrived whole (an HTTP/2 stream
   * is refused with REFUSED_STREAM, safe to retry): only calls already running get the grace period.
   */
  stopAccepting(): void {
    this.tcp.close();
    for (const session of this.sessions) session.close();
    for (const req of [...this.arriving]) abandon(req, NGHTTP2_REFUSED_STREAM);
    for (const socket of this.sockets) {
      if (!this.isHttp(socket)) socket.destroy(); // still sending its first bytes
      else if (this.isHttp1(socket) && !this.busyHttp1.has(socket)) socket.destroy();
    }
    // Closes the idle HTTP/1.1 connections and stops the server's connection-checking timer.
    this.http1.close();
  }

  /**
   * Resolves once every connection has closed on its own (idle HTTP/1.1
   * ones are closed now; HTTP/2 sessions close after their last stream, so
   * final frames reach the client), or after `timeoutMs`.
   */
  closed(timeoutMs: number): Promise<void> {
    this.http1.closeIdleConnections();
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      timer.unref();
      const check = () => {
        if (this.sockets.size === 0) done();
      };
      function done() {
        clearTimeout(timer);
        for (const socket of watched) socket.off("close", check);
        resolve();
      }
      const watched = [...this.sockets];
      for (const socket of watched) socket.once("close", check);
    });
  }

  /** Cuts every connection still open. */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  private readonly protocolOf = new WeakMap<Socket, "http1" | "http2">();

  private isHttp(socket: Socket): boolean {
    return this.protocolOf.has(socket);
  }

  private isHttp1(socket: Socket): boolean {
    return this.protocolOf.get(socket) === "http1";
  }

  private route(socket: Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    const fromAddress = this.perAddress.get(address) ?? 0;
    const refusal: Refusal | undefined =
      this.sockets.size >= this.limits.maxConnections
        ? "max-connections"
        : fromAddress >= this.limits.maxConnectionsPerClient && !this.options.exemptFromPerClientCap?.(address)
          ? "max-connections-per-client"
          : undefined;
    if (refusal) {
      socket.destroy();
      this.options.onRefused?.(refusal, address);
      return;
    }
    this.sockets.add(socket);
    this.perAddress.set(address, fromAddress + 1);
    socket.once("close", () => {
      this.sockets.delete(socket);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
    socket.on("error", () => {});
    // A deadline, not an idle timeout: a client sending one byte at a time does not push it back.
    const firstBytes = setTimeout(() => {
      socket.destroy();
      this.options.onRefused?.("headers-timeout-ms", address);
    }, this.limits.headersTimeoutMs);
    firstBytes.unref();
    socket.once("close", () => clearTimeout(firstBytes));
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const compared = Math.min(received.length, http2Preface.length);
      const looksLikeHttp2 = received.subarray(0, compared).equals(http2Preface.subarray(0, compared));
      if (looksLikeHttp2 && received.length < http2Preface.length) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(received);
      if (looksLikeHttp2) {
        clearTimeout(firstBytes);
        this.protocolOf.set(socket, "http2");
        // The HTTP/2 session reads the native handle itself and takes the bytes read so far from the buffer.
        this.http2.emit("connection", socket);
      } else {
        // Node's headersTimeout takes over from here (it counts from the connection's start).
        clearTimeout(firstBytes);
        this.protocolOf.set(socket, "http1");
        this.http1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  }

  /** Closes a session once it has had no open stream for the idle timeout. */
  private watchSession(session: http2.Http2Session): void {
    this.sessions.add(session);
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      idle = setTimeout(() => session.close(), this.limits.idleTimeoutMs);
      idle.unref();
    };
    armIdle();
    // One listener for every stream of the session (not a closure, nor a once() wrapper, per stream).
    const streamClosed = () => {
      if (--open === 0 && !session.closed && !session.destroyed) armIdle();
    };
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      open++;
      clearTimeout(idle);
      stream.on("close", streamClosed);
    });
    session.once("close", () => {
      clearTimeout(idle);
      this.sessions.delete(session);
    });
  }

  /**
   * Per HTTP/2 request: a deadline for it to arrive whole (Node keeps the one of HTTP/1.1), and a reset once
   * the response is complete while the client is still sending, so a client still uploading (after an early
   * refusal, such as a request too large) stops instead of stalling.
   */
  private trackHttp2(stream: http2.ServerHttp2Stream): void {
    // A request that arrived whole (as a watch stream's does) needs nothing more here: an idle stream holds no listener of ours.
    if (remoteEnded(stream)) return;
    this.arriving.add(stream);
    const deadline = setTimeout(() => {
      if (!remoteEnded(stream)) stream.close(NGHTTP2_CANCEL);
    }, this.limits.requestTimeoutMs);
    deadline.unref();
    // Once the stream's own writable side is done ("finish"; "wantTrailers" when trailers follow), not on the
    // compatibility response's "finish": that one comes only when the whole stream closes, which a client still
    // uploading never lets happen. The reset waits a moment after it: a reset submitted on the next turn (as
    // connect-node does) was seen to overtake the gRPC trailers of an early answer (the client got HTTP 200 and
    // no grpc-status). Only responses that end while the client is still sending get the timer.
    // The request is whole (or the stream gone): an answer can no longer be early, so every listener goes.
    const settled = () => {
      clearTimeout(deadline);
      this.arriving.delete(stream);
      stream.off("end", settled);
      stream.off("close", settled);
      stream.off("wantTrailers", resetIfStillSending);
      stream.off("finish", resetIfStillSending);
    };
    stream.on("end", settled);
    stream.on("close", settled);
    stream.on("wantTrailers", resetIfStillSending);
    stream.on("finish", resetIfStillSending);
  }

  /** Per HTTP/1.1 request: which sockets are busy (a stop closes only idle ones), and which requests are still arriving. */
  private trackHttp1(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    this.busyHttp1.set(socket, (this.busyHttp1.get(socket) ?? 0) + 1);
    if (!req.complete) {
      this.arriving.add(req);
      const settled = () => this.arriving.delete(req);
      req.once("end", settled);
      req.once("close", settled);
    }
    res.once("close", () => {
      const left = (this.busyHttp1.get(socket) ?? 1) - 1;
      if (left === 0) this.busyHttp1.delete(socket);
      else this.busyHttp1.set(socket, left);
    });
  }
}

/**
 * A stream's "wantTrailers" and "finish" listener (one function for all, `this` the stream): a response that ended
 * while the client is still sending resets the stream a moment later (see trackHttp2).
 */
function resetIfStillSending(this: http2.ServerHttp2Stream): void {
  const stream = this;
  if (remoteEnded(stream)) return;
  setTimeout(() => {
    if (!stream.closed && !remoteEnded(stream)) stream.close(NGHTTP2_NO_ERROR);
  }, resetAfterEarlyAnswerMs).unref();
}

/** Whether the client has ended its side of the stream (sent END_STREAM). */
function remoteEnded(stream: http2.Http2Stream): boolean {
  return stream.destroyed || (stream.state?.remoteClose ?? 1) !== 0;
}

/** Gives up on a request that has not arrived whole: an HTTP/2 stream is reset with `code`, an HTTP/1.1 connection closed. */
function abandon(req: http.IncomingMessage | http2.ServerHttp2Stream, code: number): void {
  if ("respond" in req) req.close(code);
  else req.socket.destroy();
}

const { HTTP_STATUS_METHOD_NOT_ALLOWED, HTTP_STATUS_EXPECTATION_FAILED } = http2.constants;

/**
 * What Node's HTTP/2 server does for a stream when it has a request listener (lib/internal/http2/compat.js,
 * onServerStream): a request and a response object, CONNECT refused, "Expect: 100-continue" answered.
 */
function serveThroughRequestApi(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[], handler: RequestHandler): void {
  const req = new http2.Http2ServerRequest(stream, headers, undefined as never, rawHeaders);
  const res = new http2.Http2ServerResponse(stream);
  if (headers[":method"] === "CONNECT") {
    res.statusCode = HTTP_STATUS_METHOD_NOT_ALLOWED;
    res.end();
    return;
  }
  if (headers.expect !== undefined) {
    if (headers.expect !== "100-continue") {
      res.statusCode = HTTP_STATUS_EXPECTATION_FAILED;
      res.end();
      return;
    }
    res.writeContinue();
  }
  handler(req, res);
}

/** The peer address without the IPv4-mapped IPv6 prefix, so one client counts as one. */
function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}
