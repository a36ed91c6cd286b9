import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { create, toBinary } from "@bufbuild/protobuf";

/**
 * What the load generator's lean client transports (gRPC over HTTP/2, Connect over HTTP/1.1) share:
 * splitting a response body into enveloped messages, and a server stream's messages as a queue.
 */

/** One enveloped message: flags 0, the length, the bytes. */
export function envelope(bytes: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + bytes.length);
  frame[0] = 0;
  frame.writeUInt32BE(bytes.length, 1);
  frame.set(bytes, 5);
  return frame;
}

/** A server-streaming call's one request message, serialized (the exchange sends exactly one). */
export async function onlyRequest<I extends DescMessage>(schema: I, input: AsyncIterable<MessageInitShape<I>>): Promise<Uint8Array> {
  let first: MessageInitShape<I> | undefined;
  for await (const m of input) {
    first = m;
    break;
  }
  return toBinary(schema, create(schema, first));
}

/** A `data` listener that splits enveloped messages (flags byte, length, payload) out of the chunks it gets. */
export function envelopeSplitter(onMessage: (flags: number, bytes: Uint8Array) => void): (chunk: Buffer) => void {
  let buffer: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    while (buffer.length >= 5) {
      const length = buffer.readUInt32BE(1);
      if (buffer.length < 5 + length) break;
      onMessage(buffer[0]!, buffer.subarray(5, 5 + length));
      buffer = buffer.subarray(5 + length);
    }
  };
}

/** A server stream's messages: pushed as they arrive, ended by `done` (its outcome); `cancel` runs if the reader stops early. */
export function messageQueue<T>(cancel: () => void): { push(message: T): void; settle(outcome: Promise<void>): void; messages: AsyncGenerator<T> } {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: unknown;
  async function* messages(): AsyncGenerator<T> {
    try {
      for (;;) {
        if (queue.length > 0) {
          yield queue.shift()!;
          continue;
        }
        if (ended) {
          if (failure !== undefined) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      if (!ended) cancel();
    }
  }
  return {
    push(message: T) {
      queue.push(message);
      wake?.();
    },
    messages: messages(),
    settle(outcome: Promise<void>) {
      outcome.then(
        () => {
          ended = true;
          wake?.();
        },
        (error: unknown) => {
          failure = error;
          ended = true;
          wake?.();
        },
      );
    },
  };
}
