import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { createLogger } from "../src/server/logger.js";
import type { RawRequest, WireCodec, WireProtocol } from "./support/raw-rpc.js";
import { callHttp1, contentTypeOf, envelope, protocolHeaders, RawH2Client } from "./support/raw-rpc.js";
import { startTestServer } from "./support/test-server.js";

/*
 * A request whose message cannot be decoded is the client's fault: every
 * protocol answers it INVALID_ARGUMENT (as connect-go does), never INTERNAL,
 * never not at all, and the server logs it at debug, not at error.
 */

let server: RunningServer;
let h2: RawH2Client;
const agent = new http.Agent({ keepAlive: true });
const logLines: string[] = [];

beforeAll(async () => {
  server = await startTestServer({}, { logger: createLogger("debug", (line) => logLines.push(line)) });
  h2 = new RawH2Client(server.url);
});
afterAll(async () => {
  h2.close();
  agent.destroy();
  await server.shutdown(0);
});

const bytes = (...values: number[]) => Uint8Array.from(values);
const nest = (depth: number, inner: Uint8Array): Uint8Array =>
  // Unknown field 15 as a start group (tag 0x7b) ... end group (0x7c), `depth` levels deep.
  Uint8Array.from([...new Array<number>(depth).fill(0x7b), ...inner, ...new Array<number>(depth).fill(0x7c)]);

/** Binary messages no protobuf decoder accepts, each with what is wrong with it. */
const malformedBinary: [string, Uint8Array][] = [
  ["truncated (a string field promising 5 bytes, with 2)", bytes(0x0a, 0x05, 0x41, 0x41)],
  ["an illegal tag (field number 0)", bytes(0x00, 0x01)],
  ["an illegal wire type (6)", bytes(0x0e, 0x01)],
  ["a length varint longer than 10 bytes", bytes(0x0a, ...new Array<number>(11).fill(0xff), 0x01)],
  ["invalid UTF-8 in a string field", bytes(0x0a, 0x03, 0xff, 0xfe, 0x41)],
  ["groups nested deeper than the recursion limit", nest(150, bytes())],
];

const streamingPath = "/signaling.v1.SignalingService/WatchChannel";
const unaryPath = "/signaling.v1.SignalingService/GetChannel";

function request(protocol: WireProtocol, codec: WireCodec, path: string, message: Uint8Array): RawRequest {
  const enveloped = protocol !== "connect";
  return {
    path,
    contentType: contentTypeOf(protocol, codec),
    headers: protocolHeaders(protocol),
    body: enveloped ? envelope(message) : message,
  };
}

describe("a JSON message whose error message would quote a lone surrogate", () => {
  const json = (text: string) => new TextEncoder().encode(text);
  // The decoder's own error ({"ttl":"\ud800"} is no Duration) and the service's (a channel id that is no UUID).
  const cases: [WireProtocol, string, Uint8Array][] = [];
  for (const protocol of ["grpc", "grpc-web", "connect"] as WireProtocol[]) {
    cases.push([protocol, "/signaling.v1.SignalingService/CreateChannel", json('{"ttl":"\\ud800"}')]);
    cases.push([protocol, unaryPath, json('{"channelId":"\\ud800"}')]);
  }
  for (const protocol of ["grpc", "grpc-web", "connect-stream"] as WireProtocol[]) {
    cases.push([protocol, streamingPath, json('{"channelId":"\\ud800"}')]);
  }
  it.each(cases)("is answered INVALID_ARGUMENT over %s: %s (it used to hang with URIError: URI malformed)", async (protocol, path, body) => {
    const reply = await h2.call(request(protocol, "json", path, body));
    expect(reply.code).toBe("invalid_argument");
  });

  it("is answered INVALID_ARGUMENT over gRPC-Web on HTTP/1.1 too", async () => {
    const reply = await callHttp1(server.url, request("grpc-web", "json", "/signaling.v1.SignalingService/CreateChannel", json('{"ttl":"\\ud800"}')), agent);
    expect(reply.code).toBe("invalid_argument");
  });
});

describe("a binary message that cannot be decoded", () => {
  const protocols: WireProtocol[] = ["connect", "grpc", "grpc-web"];
  for (const protocol of protocols) {
    it.each(malformedBinary)(`is answered INVALID_ARGUMENT over ${protocol}, unary: %s`, async (_what, message) => {
      const reply = await h2.call(request(protocol, "proto", unaryPath, message));
      expect(reply).toMatchObject({ code: "invalid_argument" });
      if (protocol === "connect") expect(reply.httpStatus).toBe(400);
    });
  }

  for (const protocol of ["connect-stream", "grpc", "grpc-web"] as WireProtocol[]) {
    it.each(malformedBinary)(`is answered INVALID_ARGUMENT over ${protocol}, server streaming: %s`, async (_what, message) => {
      const reply = await h2.call(request(protocol, "proto", streamingPath, message));
      expect(reply.code).toBe("invalid_argument");
    });
  }

  it("is logged at debug, never at error", async () => {
    logLines.length = 0;
    for (const [, message] of malformedBinary) {
      await h2.call(request("grpc", "proto", streamingPath, message));
      await h2.call(request("connect", "proto", unaryPath, message));
    }
    // Whether a line is written at debug depends on the route (a unary request is decoded before the
    // pipeline runs); none is written above it.
    const records = logLines.map((line) => JSON.parse(line) as { level: string; msg: string; code?: string });
    expect(records.filter((r) => r.level !== "debug")).toEqual([]);
  });

  it("leaves the server serving well-formed calls", async () => {
    const reply = await h2.call(request("grpc", "proto", "/signaling.v1.SignalingService/CreateChannel", bytes()));
    expect(reply.code).toBe("ok");
  });
});

describe("a streaming request that is not one plain message", () => {
  // Codes as the Connect conformance suite expects them (grpc_server_unexpected.yaml and its siblings).
  const cases: [string, Uint8Array, Record<string, string>, string][] = [
    ["no message", new Uint8Array(), {}, "unimplemented"],
    ["two messages", Uint8Array.from([...envelope(bytes()), ...envelope(bytes())]), {}, "unimplemented"],
    ["a compressed-flag frame without grpc-encoding", envelope(bytes(0x0a, 0x01, 0x41), 1), {}, "internal"],
    ["a compressed-flag frame of garbage with grpc-encoding: gzip", envelope(bytes(0x1f, 0x8b, 0x08), 1), { "grpc-encoding": "gzip" }, "invalid_argument"],
    ["a length prefix promising more than is sent", envelope(bytes(0x0a), 0, 100), {}, "invalid_argument"],
  ];
  it.each(cases)("is answered as the conformance suite expects and logged at debug, never at error: %s", async (_what, body, headers, code) => {
    logLines.length = 0;
    const reply = await h2.call({ path: streamingPath, contentType: "application/grpc", headers: { te: "trailers", ...headers }, body });
    expect(reply.code).toBe(code);
    const records = logLines.map((line) => JSON.parse(line) as { level: string });
    expect(records.filter((r) => r.level === "error")).toEqual([]);
  });
});
