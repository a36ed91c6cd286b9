import * as http2 from "node:http2";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { StreamResponse, Transport, UnaryResponse } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { envelope, envelopeSplitter, messageQueue, onlyRequest } from "./lean-stream-parts.js";

/**
 * A lean gRPC client transport for the load generator: Node's http2 and
 * protobuf, nothing else (no interceptors, no compression, no deadlines).
 * The load generator shares one core, and `createGrpcTransport` costs about
 * as much CPU per call as the server does; with this one the server, not
 * the client, is what saturates. It speaks the same wire protocol, and the
 * exchange code drives it through the same generated client.
 */
export function createLeanGrpcTransport(baseUrl: string): Transport {
  let session: http2.ClientHttp2Session | undefined;
  const connect = () => {
    if (session && !session.closed && !session.destroyed) return session;
    const s = http2.connect(baseUrl);
    s.on("error", () => {});
    s.unref();
    session = s;
    return s;
  };

  function call(path: string, bytes: Uint8Array, signal: AbortSignal | undefined) {
    const stream = connect().request(
      { ":method": "POST", ":path": path, "content-type": "application/grpc+proto", te: "trailers" },
      { endStream: false },
    );
    stream.end(envelope(bytes));
    if (signal) {
      const onAbort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        stream.once("close", () => signal.removeEventListener("abort", onAbort));
      }
    }
    return stream;
  }

  /** Splits the response body into messages and ends with the gRPC status from the trailers. */
  function frames(stream: http2.ClientHttp2Stream, onMessage: (bytes: Uint8Array) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let status: string | undefined;
      let message = "";
      const takeStatus = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] !== undefined) {
          status = String(headers["grpc-status"]);
          message = decodeURIComponent(String(headers["grpc-message"] ?? ""));
        }
      };
      stream.on("response", takeStatus);
      stream.on("trailers", takeStatus);
      stream.on("data", envelopeSplitter((_flags, bytes) => onMessage(bytes)));
      stream.on("error", (error) => reject(ConnectError.from(error)));
      stream.on("close", () => {
        if (status === "0") resolve();
        else if (status !== undefined) reject(new ConnectError(message, Number(status) as Code));
        else reject(new ConnectError(`stream closed without a status (rst ${stream.rstCode})`, Code.Canceled));
      });
    });
  }

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      _timeoutMs: number | undefined,
      _header: HeadersInit | undefined,
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      const bytes = toBinary(method.input, create(method.input, input));
      const stream = call(`/${method.parent.typeName}/${method.name}`, bytes, signal);
      let output: MessageShape<O> | undefined;
      await frames(stream, (b) => {
        output = fromBinary(method.output, b);
      });
      if (!output) throw new ConnectError("no response message", Code.Internal);
      return { stream: false, service: method.parent, method, header: new Headers(), trailer: new Headers(), message: output };
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      _timeoutMs: number | undefined,
      _header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
    ): Promise<StreamResponse<I, O>> {
      const bytes = await onlyRequest(method.input, input);
      const stream = call(`/${method.parent.typeName}/${method.name}`, bytes, signal);
      const queue = messageQueue<MessageShape<O>>(() => {
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      queue.settle(frames(stream, (b) => queue.push(fromBinary(method.output, b))));
      return { stream: true, service: method.parent, method, header: new Headers(), trailer: new Headers(), message: queue.messages };
    },
  };
}
