import type * as http from "node:http";
import type * as http2 from "node:http2";
import { createContextKey, createContextValues } from "@connectrpc/connect";
import type { ContextValues } from "@connectrpc/connect";

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
  return (req) => createContextValues().set(clientAddressKey, resolveAddress(req));
}
