import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { abortOnShutdown } from "./pipeline/call-abort.js";
import type { RpcOptions } from "./lean/lean-path.js";
import { createLeanPath } from "./lean/lean-path.js";
import { RouteTable } from "./lean/route-table.js";
import { installPooledProtobufWriter } from "./pooled-protobuf-writer.js";
import type { RequestHandler, StreamHandler } from "./listener.js";

export interface RpcRouteOptions extends RpcOptions {
  /** Registers every service on the router (the `routes` function). */
  readonly routes: (router: ConnectRouter) => void;
  /** Services whose unary and server-streaming calls may take the lean path; empty: connect-node serves everything. */
  readonly leanServices: readonly DescService[];
  /** Passed to connect-node only (e.g. `acceptCompression`); what the lean path must honour too belongs in RpcOptions. */
  readonly connectNode?: Omit<Partial<ConnectNodeAdapterOptions>, keyof RpcOptions | "routes">;
}

/** Every RPC, on Node's request API and on HTTP/2 streams served directly. */
export interface RpcRoute {
  /** Serves any RPC request: the lean path's, and connect-node's. */
  readonly request: RequestHandler;
  /** Takes the HTTP/2 streams the lean path serves; false for the rest (to reach `request` through Node's request API). */
  readonly stream: StreamHandler;
}

const noStreams: StreamHandler = () => false;

/**
 * The handlers for every RPC: the lean path first (when it has services),
 * connect-node's adapter for everything the lean path leaves. Both are
 * built from the same options and the same route registrations.
 */
export function rpcRoute(options: RpcRouteOptions): RpcRoute {
  // Every binary response of both routes is serialized by protobuf-es's BinaryWriter.
  installPooledProtobufWriter();
  const { routes, leanServices, connectNode: extra, ...rpcOptions } = options;
  const { shutdown, ...shared } = rpcOptions;
  const table = new RouteTable(new Set(leanServices));
  const connectNode = connectNodeAdapter({
    ...extra,
    ...shared,
    // No shutdownSignal: the gate joins each call to the shutdown broadcast in O(1) (see call-abort.ts).
    requestGate: abortOnShutdown(shutdown),
    routes: (router) => routes(table.record(router)),
  });
  if (table.size === 0) return { request: connectNode, stream: noStreams };
  const lean = createLeanPath(table, rpcOptions);
  return {
    request: (req, res) => {
      if (!lean.request(req, res)) connectNode(req, res);
    },
    stream: (stream, headers) => lean.stream(stream, headers),
  };
}
