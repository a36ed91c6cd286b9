import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { SignalingService, WatchChannelRequestSchema } from "../../gen/signaling/v1/signaling_pb.js";

const watchPath = `/${SignalingService.typeName}/WatchChannel`;

/** An HTTP/2 connection for raw gRPC streams: the load generator holds thousands, so no client library per stream. */
export function rawSession(url: string): http2.ClientHttp2Session {
  const session = http2.connect(url);
  session.on("error", () => {});
  return session;
}

/**
 * Opens a gRPC WatchChannel stream on `session` and resolves with it once the
 * first message (the snapshot) has arrived; rejects if the stream closes first.
 * Later data is read and dropped.
 */
export function openRawWatch(session: http2.ClientHttp2Session, channelId: string, token: string): Promise<http2.ClientHttp2Stream> {
  const bytes = toBinary(WatchChannelRequestSchema, create(WatchChannelRequestSchema, { channelId, token }));
  const frame = Buffer.alloc(5 + bytes.length);
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  const stream = session.request({ ":method": "POST", ":path": watchPath, "content-type": "application/grpc+proto", te: "trailers" });
  stream.end(frame);
  return new Promise((resolve, reject) => {
    stream.on("error", () => {});
    stream.once("data", () => resolve(stream));
    stream.once("close", () => reject(new Error(`stream closed before its first message (rst ${stream.rstCode})`)));
    stream.resume();
  });
}
