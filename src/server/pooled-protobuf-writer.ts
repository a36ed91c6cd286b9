import { BinaryWriter } from "@bufbuild/protobuf/wire";

/** protobuf-es's first buffer size (binary-encoding.js INITIAL_SIZE): messages start no smaller here. */
const initialSize = 128;
const emptyBuffer = new Uint8Array(0);
const emptyView = new DataView(emptyBuffer.buffer);

/** What of BinaryWriter's private state the three methods below touch (protobuf-es 2.x). */
interface WriterState {
  buffer: Uint8Array;
  viewCache: DataView;
  pos: number;
  stackPos: number[];
}

let installed = false;

/**
 * Makes protobuf-es's `BinaryWriter` (behind every `toBinary`, so behind every binary response of both
 * routes) take its buffers from Node's Buffer pool. As shipped, it starts each message in a new
 * 128-byte `Uint8Array`, doubles it as the message grows and copies the result out with `slice`: each
 * an ArrayBuffer of its own outside V8's heap, which costs about 2 µs to allocate and collect in Node 24
 * (a pooled `Buffer.allocUnsafe` slice: about 0.1 µs). A watch stream's channel snapshot (1–2 KiB of
 * SDP) took five of them. Serialization was 12 % of an exchange's server CPU, half of it those
 * allocations (docs/benchmarks.md).
 *
 * Same bytes: only where they are kept changes. The result is a view of the writer's last buffer, which
 * the writer lets go of (a later message never writes into an earlier one's bytes). Node only: the
 * browser bundle never loads this module. Idempotent.
 */
export function installPooledProtobufWriter(): void {
  if (installed) return;
  const prototype = BinaryWriter.prototype as unknown as Record<string, unknown>;
  if (typeof prototype["ensureCapacity"] !== "function" || typeof prototype["view"] !== "function" || typeof prototype["finish"] !== "function") {
    return; // another protobuf-es layout: leave it as shipped
  }
  installed = true;
  prototype["ensureCapacity"] = function ensureCapacity(this: WriterState, size: number): void {
    const required = this.pos + size;
    if (required <= this.buffer.length) return;
    let length = this.buffer.length || initialSize;
    while (length < required) length *= 2;
    const grown = Buffer.allocUnsafe(length);
    if (this.pos > 0) grown.set(this.buffer.subarray(0, this.pos));
    this.buffer = grown;
  };
  // A pooled buffer starts anywhere in its ArrayBuffer: the view covers exactly its bytes.
  prototype["view"] = function view(this: WriterState): DataView {
    const bytes = this.buffer;
    const cached = this.viewCache;
    if (cached.buffer === bytes.buffer && cached.byteOffset === bytes.byteOffset && cached.byteLength === bytes.byteLength) return cached;
    return (this.viewCache = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  };
  prototype["finish"] = function finish(this: WriterState): Uint8Array {
    const result = this.buffer.subarray(0, this.pos);
    this.buffer = emptyBuffer;
    this.viewCache = emptyView;
    this.pos = 0;
    this.stackPos = [];
    return result;
  };
}
