import type * as http from "node:http";
import type * as http2 from "node:http2";

export type BodyResult = { readonly ok: true; readonly body: Buffer } | { readonly ok: false; readonly tooLarge: true };

/**
 * Reads a request body of at most `maxBytes`. As soon as more arrive it
 * resolves `tooLarge` and stops buffering, so the caller answers at once
 * (and ends the exchange with `endUnreadRequest`) instead of waiting for
 * the rest of an upload it will not use.
 */
export function readBody(req: http.IncomingMessage | http2.Http2ServerRequest, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      req.off("data", onData);
      chunks.length = 0;
      resolve({ ok: false, tooLarge: true });
    };
    req.on("data", onData);
    req.once("end", () => resolve({ ok: true, body: Buffer.concat(chunks, size) }));
    req.once("error", reject);
    req.once("close", () => {
      if (!req.readableEnded) reject(new Error("the request was aborted"));
    });
  });
}
