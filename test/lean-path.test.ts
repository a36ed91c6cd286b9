import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreateChannelRequestSchema, WatchChannelRequestSchema } from "../gen/signaling/v1/signaling_pb.js";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer } from "./support/test-server.js";

// Runs in both vitest projects: the wire answers below are the same whichever route serves the call.

let server: RunningServer;
beforeAll(async () => {
  server = await startTestServer({ maxRequestBytes: 1024, maxTimeoutMs: 60_000, limits: { maxWatchStreams: 1 } });
});
afterAll(() => server.shutdown(0));

const createPath = "/signaling.v1.SignalingService/CreateChannel";
const watchPath = "/signaling.v1.SignalingService/WatchChannel";

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One raw HTTP/2 request, as a hand-written client would send it. */
function h2(path: string, headers: http2.OutgoingHttpHeaders, body: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(server.url);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, ...headers });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on("response", (h) => (head = h));
    stream.on("trailers", (t) => (trailers = t));
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      session.close();
      resolve({ status: Number(head[":status"]), headers: head, trailers, body: Buffer.concat(chunks) });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

const envelope = (data: Uint8Array, flags = 0) => {
  const out = Buffer.alloc(5 + data.length);
  out.writeUInt8(flags, 0);
  out.writeUInt32BE(data.length, 1);
  out.set(data, 5);
  return out;
};
const grpcStatus = (a: Answer) => Number(a.trailers["grpc-status"] ?? a.headers["grpc-status"]);
const grpc = { "content-type": "application/grpc", te: "trailers" };
const emptyRequest = toBinary(CreateChannelRequestSchema, create(CreateChannelRequestSchema));

describe("calls in shapes the lean path hands to connect-node", () => {
  it("serves a gzip-compressed Connect request", async () => {
    const body = gzipSync(Buffer.from("{}"));
    const answer = await h2(createPath, { "content-type": "application/json", "content-encoding": "gzip" }, body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toHaveProperty("channelId");
  });

  it("serves gRPC with a JSON codec", async () => {
    const answer = await h2(createPath, { ...grpc, "content-type": "application/grpc+json" }, envelope(Buffer.from("{}")));
    expect(grpcStatus(answer)).toBe(0);
  });
});

describe("protocol errors, with connect-es's wording on both routes", () => {
  it("a gRPC unary call without a message is UNIMPLEMENTED", async () => {
    const answer = await h2(createPath, grpc, new Uint8Array());
    expect(grpcStatus(answer)).toBe(Code.Unimplemented);
    expect(decodeURIComponent(String(answer.trailers["grpc-message"]))).toContain("missing input message");
  });

  it("a gRPC unary call with two messages is UNIMPLEMENTED", async () => {
    const answer = await h2(createPath, grpc, Buffer.concat([envelope(emptyRequest), envelope(emptyRequest)]));
    expect(grpcStatus(answer)).toBe(Code.Unimplemented);
    expect(decodeURIComponent(String(answer.trailers["grpc-message"]))).toContain("extra input message");
  });

  it("a gRPC message over max-request-bytes is RESOURCE_EXHAUSTED", async () => {
    const answer = await h2(createPath, grpc, envelope(new Uint8Array(2000)));
    expect(grpcStatus(answer)).toBe(Code.ResourceExhausted);
  });

  it("a gRPC envelope cut short is INVALID_ARGUMENT", async () => {
    const answer = await h2(createPath, grpc, envelope(Buffer.from([8, 1])).subarray(0, 6));
    expect(grpcStatus(answer)).toBe(Code.InvalidArgument);
  });

  it("a Connect body over max-request-bytes is RESOURCE_EXHAUSTED (HTTP 429)", async () => {
    const answer = await h2(createPath, { "content-type": "application/json" }, Buffer.from(`{"ttl":"${"1".repeat(2000)}s"}`));
    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.body.toString()).code).toBe("resource_exhausted");
  });

  it("a malformed connect-timeout-ms is INVALID_ARGUMENT, a deadline over max-timeout-ms too", async () => {
    for (const timeout of ["soon", "120000"]) {
      const answer = await h2(createPath, { "content-type": "application/json", "connect-timeout-ms": timeout }, Buffer.from("{}"));
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body.toString()).code).toBe("invalid_argument");
    }
  });

  it("JSON that does not parse is INVALID_ARGUMENT", async () => {
    const answer = await h2(createPath, { "content-type": "application/json" }, Buffer.from(`{"ttl":`));
    expect(answer.status).toBe(400);
  });

  it("a Connect stream for a bad request ends with an end-stream error, not a torn connection", async () => {
    const answer = await h2(watchPath, { "content-type": "application/connect+json" }, envelope(Buffer.from(`{"channelId":"nope"}`)));
    expect(answer.status).toBe(200);
    const end = answer.body.subarray(5);
    expect(answer.body[0]).toBe(2);
    expect(JSON.parse(end.toString()).error.code).toBe("invalid_argument");
  });
});

describe("a refusal for a limit names the setting in metadata", () => {
  it("in the end-stream metadata over Connect and in the trailers over gRPC", async () => {
    const created = JSON.parse((await h2(createPath, { "content-type": "application/json" }, Buffer.from("{}"))).body.toString());
    const request = Buffer.from(JSON.stringify({ channelId: created.channelId }));
    // Holds the one watch stream max-watch-streams allows.
    const session = http2.connect(server.url);
    const held = session.request({ ":method": "POST", ":path": watchPath, "content-type": "application/connect+json" });
    held.end(envelope(request));
    await new Promise((resolve) => held.once("data", resolve));

    const viaConnect = await h2(watchPath, { "content-type": "application/connect+json" }, envelope(request));
    const end = JSON.parse(viaConnect.body.subarray(5).toString());
    expect(end.error.code).toBe("resource_exhausted");
    expect(end.metadata["switchboard-limit"]).toEqual(["max-watch-streams"]);

    const viaGrpc = await h2(watchPath, grpc, envelope(toBinary(WatchChannelRequestSchema, create(WatchChannelRequestSchema, { channelId: created.channelId }))));
    expect(grpcStatus(viaGrpc)).toBe(Code.ResourceExhausted);
    expect(viaGrpc.trailers["switchboard-limit"]).toBe("max-watch-streams");
    held.close();
    session.close();
  });
});
