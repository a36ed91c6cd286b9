import { createContextKey } from "@connectrpc/connect";
import type { ContextValues } from "@connectrpc/connect";

/** The `protocol` values metrics and spans use, by index. */
export const protocolNames = ["connect", "grpc", "grpc-web"] as const;

/** 0 connect, 1 grpc, 2 grpc-web, from the request's content type (Connect GET requests have none). */
export function protocolIndex(contentType: string | null): number {
  if (contentType === null || !contentType.startsWith("application/grpc")) return 0;
  return contentType.startsWith("application/grpc-web") ? 2 : 1;
}

/**
 * The call's protocol index, set with the other context values from the HTTP request's content type
 * (callContextValues), so metrics and spans need not build the call's request `Headers` to read it;
 * -1 where nobody set it.
 */
export const protocolKey = createContextKey<number>(-1, { description: "the call's protocol: 0 connect, 1 grpc, 2 grpc-web" });

/** The call's protocol index (see protocolNames). */
export function callProtocol(req: { readonly contextValues: ContextValues; readonly header: Headers }): number {
  const known = req.contextValues.get(protocolKey);
  return known >= 0 ? known : protocolIndex(req.header.get("content-type"));
}
