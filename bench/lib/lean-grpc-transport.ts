import * as http2 from "node:http2";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { StreamResponse, Transport, UnaryResponse } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";

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
    const frame = Buffer.allocUnsafe(5 + bytes.length);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.length, 1);
    frame.set(bytes, 5);
    stream.end(frame);
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
      let buffer: Buffer = Buffer.alloc(0);
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
      stream.on("data", (chunk: Buffer) => {
        buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
        while (buffer.length >= 5) {
          const length = buffer.readUInt32BE(1);
          if (buffer.length < 5 + length) break;
          onMessage(buffer.subarray(5, 5 + length));
          buffer = buffer.subarray(5 + length);
        }
      });
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
      let first: MessageInitShape<I> | undefined;
      for await (const m of input) {
        first = m;
        break;
      }
      const bytes = toBinary(method.input, create(method.input, first));
      const stream = call(`/${method.parent.typeName}/${method.name}`, bytes, signal);
      const queue: MessageShape<O>[] = [];
      let wake: (() => void) | undefined;
      let ended = false;
      let failure: unknown;
      frames(stream, (b) => {
        queue.push(fromBinary(method.output, b));
        wake?.();
      }).then(
        () => {
          ended = true;
          wake?.();
        },
        (error: unknown) => {
          failure = error;
          ended = true;
          wake?.();
        },
      );
      async function* messages(): AsyncGenerator<MessageShape<O>> {
        try {
          for (;;) {
            if (queue.length > 0) {
              yield queue.shift()!;
              continue;
            }
            if (ended) {
              if (failure !== undefined) throw failure;
              return;
            }
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        }
      }
      return { stream: true, service: method.parent, method, header: new Headers(), trailer: new Headers(), message: messages() };
    },
  };
}
