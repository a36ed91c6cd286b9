import * as http2 from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/app.js";
import { startTestServer } from "./support/test-server.js";

const path = "/signaling.v1.SignalingService/CreateChannel";

/**
 * Uploads an endless body (64 KiB chunks, as long as the stream takes them) to CreateChannel over
 * HTTP/2 and resolves with the response status and how the stream ended.
 */
function endlessUpload(url: string, headers: http2.OutgoingHttpHeaders): Promise<{ status: unknown; rstCode: number | undefined; session: http2.ClientHttp2Session }> {
  const session = http2.connect(url);
  session.on("error", () => {});
  const stream = session.request({ ":method": "POST", ":path": path, ...headers }, { endStream: false });
  stream.on("error", () => {});
  let status: unknown;
  stream.once("response", (h) => (status = h[":status"]));
  stream.resume();
  const chunk = Buffer.alloc(64 * 1024, "7");
  const pump = () => {
    while (!stream.destroyed && stream.write(chunk));
  };
  stream.on("drain", pump);
  pump();
  return new Promise((resolve) => stream.once("close", () => resolve({ status, rstCode: stream.rstCode, session })));
}

describe("an oversize upload over HTTP/2", () => {
  let server: RunningServer | undefined;
  afterEach(async () => server?.shutdown(0));

  it.each([
    ["Connect", { "content-type": "application/json" }],
    ["gRPC", { "content-type": "application/grpc", te: "trailers" }],
  ])("%s: answered RESOURCE_EXHAUSTED, then the stream is reset (RST_STREAM NO_ERROR) so the client stops uploading", async (_, headers) => {
    server = await startTestServer({ maxRequestBytes: 64 * 1024 });
    const { status, rstCode, session } = await endlessUpload(server.url, headers);
    session.destroy();
    expect(status).toBe(headers["content-type"] === "application/json" ? 429 : 200);
    expect(rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
  });
});
