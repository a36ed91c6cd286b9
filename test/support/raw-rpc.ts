import * as http from "node:http";
import * as http2 from "node:http2";

/**
 * Raw RPC requests over real sockets, with the bytes exactly as given (no
 * client library to tidy them up), and what the server answered read back
 * as one status code per protocol. For tests that send what no well-behaved
 * client would.
 */

/** The wire protocol and codec a request claims, by its content type. */
export type WireProtocol = "connect" | "connect-stream" | "grpc" | "grpc-web";
export type WireCodec = "proto" | "json";

export interface RawRequest {
  readonly path: string;
  readonly contentType: string;
  readonly body: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What came back: the HTTP status, the status code the protocol carried ("ok", "invalid_argument", …), or why there was none. */
export interface RawReply {
  readonly httpStatus: number;
  /** The Connect/gRPC code name in Connect's spelling, or `http-<status>` when the answer carried none. */
  readonly code: string;
  readonly message: string;
}

const codeNames = [
  "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
  "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range",
  "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated",
];

/** One length-prefixed message: a flags byte, a big-endian length (the real one unless `claimedLength`), the payload. */
export function envelope(payload: Uint8Array, flags = 0, claimedLength = payload.length): Uint8Array {
  const frame = new Uint8Array(5 + payload.length);
  frame[0] = flags;
  new DataView(frame.buffer).setUint32(1, claimedLength >>> 0);
  frame.set(payload, 5);
  return frame;
}

/** The content type a protocol and codec use. */
export function contentTypeOf(protocol: WireProtocol, codec: WireCodec): string {
  switch (protocol) {
    case "connect":
      return `application/${codec}`;
    case "connect-stream":
      return `application/connect+${codec}`;
    case "grpc":
      return `application/grpc+${codec}`;
    case "grpc-web":
      return `application/grpc-web+${codec}`;
  }
}

/** Headers a real client of the protocol sends besides the content type. */
export function protocolHeaders(protocol: WireProtocol): Record<string, string> {
  switch (protocol) {
    case "connect":
    case "connect-stream":
      return { "connect-protocol-version": "1" };
    case "grpc":
      return { te: "trailers" };
    case "grpc-web":
      return { "x-grpc-web": "1" };
  }
}

/** Reads the status out of a response, whichever protocol answered. */
export function readReply(httpStatus: number, headers: Record<string, unknown>, body: Buffer, trailers: Record<string, unknown>): RawReply {
  const contentType = String(headers["content-type"] ?? "");
  const grpcStatus = trailers["grpc-status"] ?? headers["grpc-status"];
  if (grpcStatus !== undefined) {
    return { httpStatus, code: codeNames[Number(grpcStatus)] ?? `grpc-${String(grpcStatus)}`, message: decodeGrpcMessage(trailers["grpc-message"] ?? headers["grpc-message"]) };
  }
  if (contentType.startsWith("application/grpc-web")) {
    const trailer = lastEnvelope(body, 0x80);
    if (trailer) {
      const fields = Object.fromEntries(
        trailer.toString("utf8").split("\r\n").filter(Boolean).map((line) => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
        }),
      );
      const status = Number(fields["grpc-status"]);
      return { httpStatus, code: codeNames[status] ?? `grpc-${fields["grpc-status"]}`, message: decodeGrpcMessage(fields["grpc-message"]) };
    }
  }
  if (contentType.startsWith("application/connect+")) {
    const end = lastEnvelope(body, 0x02);
    if (end) {
      const json = JSON.parse(end.toString("utf8")) as { error?: { code: string; message?: string } };
      return { httpStatus, code: json.error?.code ?? "ok", message: json.error?.message ?? "" };
    }
  }
  if (contentType.startsWith("application/json") && httpStatus !== 200) {
    try {
      const json = JSON.parse(body.toString("utf8")) as { code?: string; message?: string };
      if (typeof json.code === "string") return { httpStatus, code: json.code, message: json.message ?? "" };
    } catch {
      // not a Connect error body
    }
  }
  if (httpStatus === 200 && (contentType.startsWith("application/json") || contentType.startsWith("application/proto"))) {
    return { httpStatus, code: "ok", message: "" };
  }
  return { httpStatus, code: `http-${httpStatus}`, message: body.toString("utf8").slice(0, 200) };
}

function decodeGrpcMessage(value: unknown): string {
  const text = String(value ?? "");
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function lastEnvelope(body: Buffer, flag: number): Buffer | undefined {
  let found: Buffer | undefined;
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    if ((body[at]! & flag) === flag) found = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
  }
  return found;
}

/** An HTTP/2 (h2c) connection that sends raw requests; one per test file is plenty. */
export class RawH2Client {
  private session: http2.ClientHttp2Session | undefined;
  constructor(private readonly baseUrl: string) {}

  /** Sends the request; resolves with the reply, or rejects when none comes within `timeoutMs`. */
  call(request: RawRequest, timeoutMs = 5000): Promise<RawReply> {
    const session = this.connect();
    return new Promise((resolve, reject) => {
      const stream = session.request({
        ":method": "POST",
        ":path": request.path,
        "content-type": request.contentType,
        ...request.headers,
      });
      let headers: Record<string, unknown> = {};
      let trailers: Record<string, unknown> = {};
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new Error(`no answer within ${timeoutMs} ms to ${request.contentType} ${request.path}`));
      }, timeoutMs);
      stream.on("response", (h) => (headers = h));
      stream.on("trailers", (t) => (trailers = t));
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      // The server may answer and reset before reading the whole body; that is an answer too.
      stream.on("error", () => {});
      stream.on("close", () => {
        clearTimeout(timer);
        const status = Number(headers[":status"] ?? 0);
        if (status === 0) reject(new Error(`stream closed without an answer (rst code ${stream.rstCode})`));
        else resolve(readReply(status, headers, Buffer.concat(chunks), trailers));
      });
      stream.end(request.body);
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = http2.connect(this.baseUrl);
      this.session.on("error", () => {});
    }
    return this.session;
  }
}

/** The same request over HTTP/1.1, on a keep-alive agent. */
export function callHttp1(baseUrl: string, request: RawRequest, agent: http.Agent, timeoutMs = 5000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${request.path}`, {
      method: "POST",
      agent,
      headers: { "content-type": request.contentType, "content-length": request.body.length, ...request.headers },
      timeout: timeoutMs,
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms to ${request.contentType} ${request.path}`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve(readReply(res.statusCode ?? 0, res.headers, Buffer.concat(chunks), res.trailers)));
      res.on("error", reject);
    });
    req.end(request.body);
  });
}
