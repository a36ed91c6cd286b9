import { createContextKey } from "@connectrpc/connect";

/**
 * The address of the client that made the call: what per-client limits,
 * logs and metrics key on. Set for every call by the server's pipeline
 * (src/server/pipeline/client-address.ts); handlers read it from
 * `ctx.values`, interceptors from `req.contextValues`.
 */
export const clientAddressKey = createContextKey<string>("unknown", { description: "the calling client's address" });
