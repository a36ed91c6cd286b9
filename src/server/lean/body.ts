import { Code, ConnectError } from "@connectrpc/connect";
import type { Exchange } from "./exchange.js";

/** connect-es's wording for a message over readMaxBytes (protocol/limit-io.ts), so both routes say the same. */
export function tooLarge(size: number | undefined, readMaxBytes: number): ConnectError {
  const message =
    size === undefined
      ? `message size is larger than configured readMaxBytes ${readMaxBytes}`
      : `message size ${size} is larger than configured readMaxBytes ${readMaxBytes}`;
  return new ConnectError(message, Code.ResourceExhausted);
}

/**
 * The whole request body, refused with RESOURCE_EXHAUSTED as soon as it
 * passes `maxBytes` (or announces more in Content-Length) — the bound
 * connect-node's `readAllBytes` applies, without its async-iterator chain.
 */
export function readBody(exchange: Exchange, maxBytes: number, readMaxBytes = maxBytes): Promise<Buffer> {
  const declared = exchange.headers["content-length"];
  if (declared !== undefined) {
    const length = Number(declared);
    if (Number.isSafeInteger(length) && length > maxBytes) return Promise.reject(tooLarge(length, readMaxBytes));
  }
  const req = exchange.body;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      req.off("close", onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        // Drain and drop the rest, so the connection stays usable for the error response (HTTP/2: the listener
        // resets a stream still uploading once the response is out, which stops an upload that does not end).
        req.resume();
        return reject(tooLarge(undefined, readMaxBytes));
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new ConnectError(`reading the request failed: ${error.message}`, Code.Canceled));
    };
    const onAborted = () => onError(new Error("the client aborted the request"));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("aborted", onAborted);
    // An HTTP/2 stream reset before its body ended may close without "aborted".
    req.once("close", onAborted);
  });
}

/**
 * connect-es's encodeEnvelope (protocol/envelope.ts) in a slice of Node's Buffer pool: its `new Uint8Array`
 * is an ArrayBuffer of its own per message over 59 bytes, about 2 µs to allocate and collect in Node 24.
 */
export function encodeEnvelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.byteLength + 5);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}

/** One enveloped message (gRPC, and Connect streaming): flags byte, then the payload. */
export interface Envelope {
  readonly flags: number;
  readonly data: Uint8Array;
}

/**
 * The envelopes of a request body read whole, with connect-es's checks and
 * wording (protocol/envelope.ts, transformSplitEnvelope): a message over
 * readMaxBytes is RESOURCE_EXHAUSTED, a cut envelope INVALID_ARGUMENT.
 */
export function splitEnvelopes(body: Uint8Array, readMaxBytes: number): Envelope[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: Envelope[] = [];
  let offset = 0;
  while (offset < body.byteLength) {
    if (body.byteLength - offset < 5) throw incomplete();
    const flags = view.getUint8(offset);
    const length = view.getUint32(offset + 1);
    if (length > readMaxBytes) throw tooLarge(length, readMaxBytes);
    if (body.byteLength - offset - 5 < length) throw incomplete();
    out.push({ flags, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return out;
}

const incomplete = () => new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);

/** The single request message of a unary or server-streaming call, with connect-es's errors for none or more. */
export function onlyMessage(envelopes: readonly Envelope[], kind: "unary" | "server-streaming"): Envelope {
  if (envelopes.length === 0) {
    throw new ConnectError(`protocol error: missing input message for ${kind} method`, Code.Unimplemented);
  }
  if (envelopes.length > 1) {
    throw new ConnectError(`protocol error: received extra input message for ${kind} method`, Code.Unimplemented);
  }
  return envelopes[0]!;
}
