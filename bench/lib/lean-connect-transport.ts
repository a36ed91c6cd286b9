import * as http from "node:http";
import type { DescMessage, DescMethodStreaming, DescMethodUnary, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { StreamResponse, Transport, UnaryResponse } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeFromHttpStatus, endStreamFlag, endStreamFromJson, errorFromJsonBytes } from "@connectrpc/connect/protocol-connect";
import { envelope, envelopeSplitter, messageQueue, onlyRequest } from "./lean-stream-parts.js";

/**
 * A lean Connect client transport for the load generator: binary Connect over HTTP/1.1 keep-alive with
 * Node's http and protobuf, nothing else (no interceptors, compression or deadlines), as the lean gRPC
 * transport is for gRPC. connect-node's client cost the load generator's core more CPU per exchange than
 * the server spent (28–81 % of its core against the server's 13–44 %), so over Connect the client could set
 * the pace. The requests on the wire are what connect-node sends (`application/proto` unary,
 * `application/connect+proto` server streams, `connect-protocol-version: 1`); errors are read with
 * connect-es's own protocol-connect functions.
 */
export function createLeanConnectTransport(baseUrl: string, agent: http.Agent): Transport {
  const url = new URL(baseUrl);

  function post(path: string, contentType: string, body: Uint8Array, signal: AbortSignal | undefined, onResponse: (res: http.IncomingMessage) => void, onError: (error: unknown) => void) {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path,
      method: "POST",
      agent,
      headers: { "content-type": contentType, "connect-protocol-version": "1", "content-length": body.byteLength },
    });
    req.on("response", onResponse);
    req.on("error", (error) => onError(ConnectError.from(error)));
    if (signal) {
      const onAbort = () => req.destroy(new ConnectError("the call was cancelled", Code.Canceled));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener("abort", onAbort, { once: true });
        req.once("close", () => signal.removeEventListener("abort", onAbort));
      }
    }
    req.end(body);
    return req;
  }

  /** The whole response body. */
  const readAll = (res: http.IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
      res.on("error", reject);
    });

  return {
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      _timeoutMs: number | undefined,
      _header: HeadersInit | undefined,
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      const bytes = toBinary(method.input, create(method.input, input));
      const { status, body } = await new Promise<{ status: number; body: Buffer }>((resolve, reject) =>
        post(`/${method.parent.typeName}/${method.name}`, "application/proto", bytes, signal, (res) => readAll(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject), reject),
      );
      if (status !== 200) throw errorFromJsonBytes(body, undefined, new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status)));
      return { stream: false, service: method.parent, method, header: new Headers(), trailer: new Headers(), message: fromBinary(method.output, body) };
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      _timeoutMs: number | undefined,
      _header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
    ): Promise<StreamResponse<I, O>> {
      const bytes = await onlyRequest(method.input, input);
      let req: http.ClientRequest | undefined;
      const queue = messageQueue<MessageShape<O>>(() => req?.destroy());
      queue.settle(
        new Promise<void>((resolve, reject) => {
          req = post(
            `/${method.parent.typeName}/${method.name}`,
            "application/connect+proto",
            envelope(bytes),
            signal,
            (res) => {
              if (res.statusCode !== 200) {
                readAll(res).then((body) => reject(errorFromJsonBytes(body, undefined, new ConnectError(`HTTP ${res.statusCode}`, codeFromHttpStatus(res.statusCode ?? 0)))), reject);
                return;
              }
              let ended = false;
              res.on(
                "data",
                envelopeSplitter((flags, data) => {
                  if ((flags & endStreamFlag) === 0) return queue.push(fromBinary(method.output, data));
                  ended = true;
                  const end = endStreamFromJson(data);
                  if (end.error) reject(end.error);
                  else resolve();
                }),
              );
              res.on("end", () => {
                if (!ended) reject(new ConnectError("the stream ended without its end-of-stream message", Code.Unavailable));
              });
              res.on("error", (error) => reject(ConnectError.from(error)));
            },
            reject,
          );
        }),
      );
      return { stream: true, service: method.parent, method, header: new Headers(), trailer: new Headers(), message: queue.messages };
    },
  };
}
