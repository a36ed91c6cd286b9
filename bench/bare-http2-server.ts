/**
 * The floor under the idle-stream and mass-cancel figures: a bare
 * `node:http2` server (the stream API, as Switchboard's listener serves the
 * lean path's streams) that answers WatchChannel over gRPC with one message
 * and then holds the stream until the client leaves, and CreateChannel with
 * a constant. No Connect, no Switchboard: what Node itself holds and does
 * per HTTP/2 stream.
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
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    stream.resume();
    const path = headers[":path"];
    if (path === "/healthz") {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    } else if (path === watchPath) {
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.write(snapshot);
    } else {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": path === createPath ? "0" : "12" }));
      if (path === createPath) stream.end(created);
      else stream.end();
    }
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = await listenBareHttp2(Number(process.argv[2]));
  process.stdout.write(`listening on ${port}\n`);
  process.once("SIGTERM", () => process.exit(0));
}
