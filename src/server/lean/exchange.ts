import type * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
export type ResponseHeaders = Record<string, string | string[]>;

/**
 * One call's request and response as the lean path reads and writes them. Two kinds: an HTTP/2 stream
 * served directly (StreamExchange), and Node's request/response API (NodeExchange: HTTP/1.1, and HTTP/2
 * requests that must pass through the layers written for that API, such as CORS).
 */
export interface Exchange {
  /** The HTTP method. */
  readonly method: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  /** The connection, for the client's address; undefined once an HTTP/2 stream has let go of its session. */
  readonly socket: Socket | undefined;
  /** The HTTP/2 stream, when the exchange is one. */
  readonly stream: http2.Http2Stream | undefined;
  /** Where the request body's data, end, error and aborted events come from. */
  readonly body: NodeJS.EventEmitter & { resume(): void };
  /** The request URL as connect-node gives it: scheme, authority and path. */
  readonly url: string;
  /** The client has gone (reset the stream, closed the connection) or the response is complete. */
  readonly closed: boolean;
  readonly headersSent: boolean;
  onClose(listener: () => void): void;
  offClose(listener: () => void): void;
  /** Sends the status and headers; `withTrailers`: end() will send trailers. */
  sendHeaders(status: number, headers: ResponseHeaders, withTrailers: boolean): void;
  /** Writes a chunk; false when the client should drain it first (see drained). */
  write(chunk: Uint8Array): boolean;
  /** Resolves when more can be written, or the client has gone. */
  drained(): Promise<void>;
  /** Ends the response with an optional last chunk, and the trailers sendHeaders announced. */
  end(chunk?: Uint8Array, trailers?: ResponseHeaders): void;
}

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_AUTHORITY, HTTP2_HEADER_SCHEME, HTTP2_HEADER_STATUS } = http2.constants;

const waitForTrailers = { waitForTrailers: true };
const noTrailers: ResponseHeaders = {};

/** A stream's "error" listener: a reset or write after the client left is seen through "close", not thrown. */
function ignore(): void {}

/**
 * An HTTP/2 stream served directly: no Http2ServerRequest or Http2ServerResponse per call. Node's
 * compatibility layer cost about 40 % of a unary call's CPU and a few KiB per open watch stream.
 */
export class StreamExchange implements Exchange {
  private trailersAnnounced = false;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly headers: http2.IncomingHttpHeaders,
  ) {
    stream.on("error", ignore);
  }

  get method(): string | undefined {
    return this.headers[HTTP2_HEADER_METHOD] as string | undefined;
  }

  get socket(): Socket | undefined {
    return this.stream.session?.socket as Socket | undefined;
  }

  get body(): http2.ServerHttp2Stream {
    return this.stream;
  }

  get url(): string {
    const authority = this.headers[HTTP2_HEADER_AUTHORITY] ?? this.headers.host ?? "localhost";
    const path = (this.headers[HTTP2_HEADER_PATH] as string | undefined) ?? "/";
    return `${(this.headers[HTTP2_HEADER_SCHEME] as string | undefined) ?? "http"}://${authority}${path}`;
  }

  get closed(): boolean {
    return streamGone(this.stream);
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  onClose(listener: () => void): void {
    this.stream.on("close", listener);
  }

  offClose(listener: () => void): void {
    this.stream.off("close", listener);
  }

  sendHeaders(status: number, headers: ResponseHeaders, withTrailers: boolean): void {
    headers[HTTP2_HEADER_STATUS] = String(status);
    this.trailersAnnounced = withTrailers;
    this.stream.respond(headers, withTrailers ? waitForTrailers : undefined);
  }

  write(chunk: Uint8Array): boolean {
    return this.stream.write(chunk);
  }

  drained(): Promise<void> {
    return drained(this.stream);
  }

  end(chunk?: Uint8Array, trailers?: ResponseHeaders): void {
    const stream = this.stream;
    if (this.trailersAnnounced) {
      const last = trailers ?? noTrailers;
      stream.once("wantTrailers", () => {
        if (!stream.closed) stream.sendTrailers(last);
      });
    }
    if (chunk) stream.end(chunk);
    else stream.end();
  }
}

/** Node's request and response API: HTTP/1.1, and HTTP/2 requests that came through it. */
export class NodeExchange implements Exchange {
  constructor(
    private readonly req: NodeRequest,
    private readonly res: NodeResponse,
  ) {}

  get method(): string | undefined {
    return this.req.method;
  }

  get headers(): http.IncomingHttpHeaders {
    return this.req.headers;
  }

  get socket(): Socket | undefined {
    return this.req.socket as Socket | undefined;
  }

  get stream(): http2.Http2Stream | undefined {
    return "stream" in this.req ? this.req.stream : undefined;
  }

  get body(): NodeRequest {
    return this.req;
  }

  get url(): string {
    const req = this.req;
    const authority = "authority" in req ? req.authority : req.headers.host;
    const scheme = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
    return `${scheme}://${authority ?? "localhost"}${req.url ?? "/"}`;
  }

  /** `closed` on HTTP/1.1; Node's HTTP/2 compatibility response has no `closed`, its stream does. */
  get closed(): boolean {
    const res = this.res;
    return "stream" in res ? streamGone(res.stream) : res.closed;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  onClose(listener: () => void): void {
    this.res.on("close", listener);
  }

  offClose(listener: () => void): void {
    this.res.off("close", listener);
  }

  sendHeaders(status: number, headers: ResponseHeaders): void {
    (this.res as http.ServerResponse).writeHead(status, headers);
  }

  write(chunk: Uint8Array): boolean {
    return (this.res as http.ServerResponse).write(chunk);
  }

  drained(): Promise<void> {
    return drained(this.res);
  }

  end(chunk?: Uint8Array, trailers?: ResponseHeaders): void {
    if (trailers) this.res.addTrailers(trailers);
    if (chunk) this.res.end(chunk);
    else this.res.end();
  }
}

/** Whether an HTTP/2 stream is over: reset by the client, or closed. */
function streamGone(stream: http2.Http2Stream): boolean {
  return stream.destroyed || stream.closed;
}

/** Resolves when `writable` can take more, or has closed. */
function drained(writable: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      writable.off("drain", done);
      writable.off("close", done);
      resolve();
    };
    writable.once("drain", done);
    writable.once("close", done);
  });
}
