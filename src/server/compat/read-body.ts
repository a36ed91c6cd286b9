import type * as http from "node:http";
import type * as http2 from "node:http2";

export type BodyResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly tooLarge: true };

// Past this many bytes beyond the limit the request is cut rather than read to its end.
const drainFactor = 16;

/**
 * Reads a request body of at most `maxBytes`. A larger one is read on and
 * dropped, so the client is still there to receive the answer, up to
 * `drainFactor` times the limit; beyond that the request is destroyed.
 */
export function readBody(req: http.IncomingMessage | http2.Http2ServerRequest, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (size > maxBytes * drainFactor) req.destroy();
    });
    req.once("end", () => resolve(size <= maxBytes ? { ok: true, body: Buffer.concat(chunks, size) } : { ok: false, tooLarge: true }));
    req.once("error", reject);
    req.once("close", () => {
      if (!req.readableEnded) reject(new Error("the request was aborted"));
    });
  });
}
