/**
 * The floor under the idle-stream figures: a bare `node:http2` server
 * (the compatibility API, as Switchboard's listener uses) that answers
 * WatchChannel over gRPC with one message and then holds the stream until
 * the client leaves, and CreateChannel with a constant. No Connect, no
 * Switchboard: what Node itself holds per idle HTTP/2 stream.
 * Usage: node bare-http2-server.js <port>
 */
import * as http2 from "node:http2";
import { pathToFileURL } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { CreateChannelResponseSchema, SignalingService, WatchChannelResponseSchema } from "../gen/signaling/v1/signaling_pb.js";

const envelope = (bytes: Uint8Array) => {
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
};
const created = envelope(
  toBinary(CreateChannelResponseSchema, create(CreateChannelResponseSchema, { channelId: "00000000-0000-4000-8000-000000000000", offererToken: "A".repeat(43), version: 1 })),
);
const snapshot = envelope(toBinary(WatchChannelResponseSchema, create(WatchChannelResponseSchema, { version: 1, event: { case: "keepAlive", value: {} } })));
const watchPath = `/${SignalingService.typeName}/WatchChannel`;
const createPath = `/${SignalingService.typeName}/CreateChannel`;

/** Listens on `port` of loopback; resolves with the port. */
export function listenBareHttp2(port: number): Promise<number> {
  const server = http2.createServer((req, res) => {
    req.resume();
    if (req.url === "/healthz") {
      res.end("ok");
    } else if (req.url === watchPath) {
      res.writeHead(200, { "content-type": "application/grpc" });
      res.write(snapshot);
    } else if (req.url === createPath) {
      res.writeHead(200, { "content-type": "application/grpc" });
      res.addTrailers({ "grpc-status": "0" });
      res.end(created);
    } else {
      res.writeHead(200, { "content-type": "application/grpc" });
      res.addTrailers({ "grpc-status": "12" });
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = await listenBareHttp2(Number(process.argv[2]));
  process.stdout.write(`listening on ${port}\n`);
  process.once("SIGTERM", () => process.exit(0));
}
