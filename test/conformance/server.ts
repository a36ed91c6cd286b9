// The server under test for `connectconformance --mode server` (test/conformance.test.ts): it reads a
// size-delimited ServerCompatRequest on stdin, serves ConformanceService on Switchboard's own listener
// (DualProtocolListener), RPC route (rpcRoute: the lean path first, connect-node for the rest) and
// request pipeline, and writes a size-delimited ServerCompatResponse with its port to stdout.
import { readFileSync } from "node:fs";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import { Broadcast } from "../../src/lib/broadcast.js";
import { callPipeline } from "../../src/server/pipeline/index.js";
import { callContextValues, peerAddress } from "../../src/server/pipeline/client-address.js";
import { DualProtocolListener } from "../../src/server/listener.js";
import { silentLogger } from "../../src/server/logger.js";
import { rpcRoute } from "../../src/server/rpc-route.js";
import { ServerCompatRequestSchema, ServerCompatResponseSchema } from "./gen/connectrpc/conformance/v1/server_compat_pb.js";
import { ConformanceService } from "./gen/connectrpc/conformance/v1/service_pb.js";
import { conformanceRoutes, conformanceRegistry } from "./routes.js";

const request = fromBinary(ServerCompatRequestSchema, readFileSync(process.stdin.fd).subarray(4));
if (request.useTls) throw new Error("this server under test speaks cleartext only (supportsTls: false)");

const shutdown = new Broadcast<ConnectError>();
const cut = new Broadcast<ConnectError>();
const route = rpcRoute({
  routes: conformanceRoutes,
  leanServices: process.env["SWITCHBOARD_LEAN_PATH"] === "off" ? [] : [ConformanceService],
  readMaxBytes: request.messageReceiveLimit > 0 ? request.messageReceiveLimit : 0xffffffff,
  shutdown,
  interceptors: callPipeline({ logger: silentLogger, cut }),
  contextValues: callContextValues(peerAddress),
  jsonOptions: { registry: conformanceRegistry },
});
const listener = new DualProtocolListener(route.request, { streams: route.stream });
const port = await listener.listen(0, "127.0.0.1");
const response = toBinary(ServerCompatResponseSchema, create(ServerCompatResponseSchema, { host: "127.0.0.1", port }));
const framed = Buffer.alloc(4 + response.length);
framed.writeUInt32BE(response.length, 0);
framed.set(response, 4);
process.stdout.write(framed);
// The runner sends SIGTERM when it is done; nothing here needs a graceful stop.
process.on("SIGTERM", () => process.exit(0));
