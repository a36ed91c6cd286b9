/**
 * The do-nothing servers of the per-call rows (bench/per-call.ts), one process each:
 *   bare-http2                 node:http2's stream API answering a constant, Connect JSON or gRPC by content type
 *   noop-lean | noop-connect-node
 *                              Switchboard's own listener and rpcRoute, no interceptors, handlers that return
 *                              constants: the same-shaped do-nothing handler of each route
 *   grpc-js                    @grpc/grpc-js answering the same constants (gRPC only)
 * Usage: node per-call-servers.js <kind> <port>
 */
import * as http2 from "node:http2";
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  AddIceCandidatesResponseSchema,
  CreateChannelResponseSchema,
  SetOfferResponseSchema,
  Side,
  SignalingService,
} from "../gen/signaling/v1/signaling_pb.js";
import { DualProtocolListener } from "../src/server/listener.js";
import { callContextValues, peerAddress } from "../src/server/pipeline/client-address.js";
import type { ConnectError } from "@connectrpc/connect";
import { Broadcast } from "../src/lib/broadcast.js";
import { rpcRoute } from "../src/server/rpc-route.js";

/** The constant answers, shaped as Switchboard's real ones. */
export const answers = {
  CreateChannel: create(CreateChannelResponseSchema, { channelId: "00000000-0000-4000-8000-000000000000", offererToken: "A".repeat(43), version: 1 }),
  SetOffer: create(SetOfferResponseSchema, { version: 2 }),
  AddIceCandidates: create(AddIceCandidatesResponseSchema, { side: Side.OFFERER, addedCandidates: 1, version: 3 }),
};
type Rpc = keyof typeof answers;
const schemas: Record<Rpc, DescMessage> = {
  CreateChannel: CreateChannelResponseSchema,
  SetOffer: SetOfferResponseSchema,
  AddIceCandidates: AddIceCandidatesResponseSchema,
};

function wire(rpc: Rpc) {
  const schema = schemas[rpc];
  const message = answers[rpc] as MessageShape<typeof schema>;
  const binary = toBinary(schema, message);
  const enveloped = Buffer.alloc(5 + binary.length);
  enveloped.writeUInt32BE(binary.length, 1);
  enveloped.set(binary, 5);
  return { binary, enveloped, json: Buffer.from(toJsonString(schema, message)) };
}

function bareHttp2(port: number): Promise<void> {
  const byPath = new Map(Object.keys(answers).map((rpc) => [`/${SignalingService.typeName}/${rpc}`, wire(rpc as Rpc)]));
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const answer = byPath.get(String(headers[":path"]));
    stream.on("data", () => {});
    stream.on("end", () => {
      if (!answer) {
        stream.respond({ ":status": 404 }, { endStream: true });
        return;
      }
      if (String(headers["content-type"]).startsWith("application/grpc")) {
        stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
        stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(answer.enveloped);
      } else {
        stream.respond({ ":status": 200, "content-type": "application/json", "content-length": answer.json.length });
        stream.end(answer.json);
      }
    });
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
}

function grpcJs(port: number): Promise<void> {
  const server = new grpc.Server();
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const impl: grpc.UntypedServiceImplementation = {};
  for (const rpc of Object.keys(answers) as Rpc[]) {
    const { binary } = wire(rpc);
    definition[rpc] = {
      path: `/${SignalingService.typeName}/${rpc}`,
      requestStream: false,
      responseStream: false,
      requestDeserialize: (b: Buffer) => b,
      requestSerialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    };
    impl[rpc] = (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(binary));
  }
  server.addService(definition, impl);
  return new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
  );
}

async function noop(port: number, lean: boolean): Promise<void> {
  const route = rpcRoute({
    routes: (router) =>
      router.service(SignalingService, {
        createChannel: () => answers.CreateChannel,
        setOffer: () => answers.SetOffer,
        addIceCandidates: () => answers.AddIceCandidates,
      }),
    leanServices: lean ? [SignalingService] : [],
    readMaxBytes: 262144,
    shutdown: new Broadcast<ConnectError>(),
    // None of Switchboard's own layers: what Switchboard adds (pipeline, validation, store) is measured against this.
    interceptors: [],
    contextValues: callContextValues(peerAddress),
  });
  await new DualProtocolListener(route.request, { streams: route.stream }).listen(port, "127.0.0.1");
}

const [kind, portText] = process.argv.slice(2);
const port = Number(portText);
switch (kind) {
  case "bare-http2":
    await bareHttp2(port);
    break;
  case "grpc-js":
    await grpcJs(port);
    break;
  case "noop-lean":
    await noop(port, true);
    break;
  case "noop-connect-node":
    await noop(port, false);
    break;
  default:
    throw new Error(`unknown server kind ${kind}`);
}
process.stdout.write(`listening on ${port}\n`);
process.once("SIGTERM", () => process.exit(0));
