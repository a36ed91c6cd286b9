import type * as http from "node:http";
import * as http2 from "node:http2";
import { createContextKey, createContextValues } from "@connectrpc/connect";
import type { ContextValues } from "@connectrpc/connect";
import { abandonStreamKey } from "../../service/stream-queue.js";

/** The address of the client that made the call: what per-client limits, logs and metrics key on. */
export const clientAddressKey = createContextKey<string>("unknown", { description: "the calling client's address" });

/** Resolves a request's client address (today: the TCP peer). */
export type ClientAddressResolver = (req: http.IncomingMessage | http2.Http2ServerRequest) => string;

export const peerAddress: ClientAddressResolver = (req) => req.socket?.remoteAddress ?? "unknown";

/**
 * The context values every call starts with, whichever route serves it
 * (connect-node's adapter or a lean path): the pipeline's interceptors read them.
 */
export function callContextValues(
  resolveAddress: ClientAddressResolver,
): (req: http.IncomingMessage | http2.Http2ServerRequest) => ContextValues {
  return (req) => createContextValues().set(clientAddressKey, resolveAddress(req)).set(abandonStreamKey, () => abandonTransport(req));
}

/** Cuts the request's stream: RST_STREAM ENHANCE_YOUR_CALM on HTTP/2 (read as RESOURCE_EXHAUSTED by clients), the connection on HTTP/1.1. */
function abandonTransport(req: http.IncomingMessage | http2.Http2ServerRequest): void {
  if ("stream" in req) req.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  else req.socket.destroy();
}
