import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { maxErrorMessageChars } from "../src/server/pipeline/errors.js";
import { systemClock } from "../src/lib/clock.js";
import type { ChannelState } from "../src/store/channel.js";
import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import { envelope } from "./support/raw-rpc.js";
import { startTestServer } from "./support/test-server.js";

/** A protobuf length-delimited field. */
function field(number: number, value: string): Buffer {
  const bytes = Buffer.from(value);
  const length: number[] = [];
  for (let n = bytes.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([(number << 3) | 2, ...length]), bytes]);
}

interface Reply {
  status: unknown;
  grpcStatus: unknown;
  grpcMessage: string;
  rstCode: number | undefined;
}

/** One gRPC call on `session`, read back raw. */
function grpcCall(session: http2.ClientHttp2Session, path: string, message: Uint8Array): Promise<Reply> {
  return new Promise((resolve) => {
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
    const reply: Reply = { status: undefined, grpcStatus: undefined, grpcMessage: "", rstCode: undefined };
    stream.on("response", (h) => (reply.status = h[":status"]));
    stream.on("trailers", (t) => {
      reply.grpcStatus = t["grpc-status"];
      reply.grpcMessage = decodeURIComponent(String(t["grpc-message"] ?? ""));
    });
    stream.on("error", () => {});
    stream.resume();
    stream.on("close", () => resolve({ ...reply, rstCode: stream.rstCode }));
    stream.end(envelope(message));
  });
}

/*
 * Found by the fuzz suite (FUZZ_SEED=849953672): GetChannel with a 70,000-character channel id and token was
 * answered HTTP 200 without grpc-status, and every later call on the same connection was refused. The error
 * message quoted the channel id, so its grpc-message trailer was larger than HTTP/2 lets a header block be
 * sent (64 KiB); node then resets the stream (FRAME_SIZE_ERROR) and closes the whole session (GOAWAY).
 */
describe("a gRPC call whose error would quote a huge request field", () => {
  let server: RunningServer | undefined;
  afterEach(async () => server?.shutdown(0));

  /** Makes `call` on a new connection, expects its status, then a well-formed call on the same connection. */
  async function expectStatusThenServing(call: (session: http2.ClientHttp2Session) => Promise<Reply>, grpcStatus: Code, message: RegExp): Promise<Reply> {
    const session = http2.connect(server!.url);
    session.on("error", () => {});
    let goaway = false;
    session.on("goaway", () => (goaway = true));
    try {
      const reply = await call(session);
      expect(reply).toMatchObject({ status: 200, grpcStatus: String(grpcStatus), rstCode: http2.constants.NGHTTP2_NO_ERROR });
      expect(reply.grpcMessage).toMatch(message);
      const next = await grpcCall(session, "/signaling.v1.SignalingService/CreateChannel", new Uint8Array());
      expect(next).toMatchObject({ status: 200, grpcStatus: "0" });
      expect(goaway).toBe(false);
      return reply;
    } finally {
      session.destroy();
    }
  }

  it("gets its status in the trailers, and the same HTTP/2 connection keeps serving calls", async () => {
    server = await startTestServer();
    const huge = "x".repeat(70_000);
    const request = Buffer.concat([field(1, huge), field(2, huge)]);
    await expectStatusThenServing((session) => grpcCall(session, "/signaling.v1.SignalingService/GetChannel", request), Code.InvalidArgument, /^channel_id: must be a channel id/);
  });

  it("any error message a handler raises reaches the client cut to a bounded length, on a connection that keeps serving", async () => {
    /** A store failing with an error whose message quotes far more than a trailer may hold. */
    class Verbose extends MemoryChannelStore {
      override getChannel(): Promise<ChannelState | undefined> {
        return Promise.reject(new ConnectError(`not now: ${"y".repeat(100_000)}`, Code.FailedPrecondition));
      }
    }
    server = await startTestServer({}, { store: new Verbose(systemClock, { maxChannels: 10, maxCandidatesPerSide: 4, maxChannelBytes: 1 << 20, maxStoreBytes: 1 << 26 }) });
    const request = field(1, "00000000-0000-4000-8000-000000000001");
    const reply = await expectStatusThenServing(
      (session) => grpcCall(session, "/signaling.v1.SignalingService/GetChannel", request),
      Code.FailedPrecondition,
      /^not now: y+… \(cut at \d+ characters\)$/,
    );
    expect(reply.grpcMessage.length).toBeLessThan(maxErrorMessageChars + 100);
  });
});
