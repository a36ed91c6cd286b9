import type { StreamResponse } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { whenCallEnds } from "../src/server/pipeline/call-end.js";

async function* numbers(fail?: Error) {
  yield 1;
  yield 2;
  if (fail) throw fail;
}

function streamOf(messages: AsyncIterable<number>) {
  const ends: unknown[] = [];
  let firsts = 0;
  const response = whenCallEnds(
    Promise.resolve({ stream: true, message: messages } as unknown as StreamResponse),
    (error) => ends.push(error === undefined ? "ok" : ConnectError.from(error).code),
    () => firsts++,
  );
  return { response, ends, firsts: () => firsts };
}

describe("whenCallEnds", () => {
  it("reports a stream once, after its last message, and its first message once", async () => {
    const { response, ends, firsts } = streamOf(numbers());
    const seen: unknown[] = [];
    for await (const n of (await response).message) seen.push(n);
    expect(seen).toEqual([1, 2]);
    expect(ends).toEqual(["ok"]);
    expect(firsts()).toBe(1);
  });

  it("reports a stream's error", async () => {
    const { response, ends } = streamOf(numbers(new ConnectError("gone", Code.NotFound)));
    await expect(async () => {
      for await (const _ of (await response).message) void _;
    }).rejects.toThrow("gone");
    expect(ends).toEqual([Code.NotFound]);
  });

  it("reports a stream the consumer stops reading as cancelled, also before its first message", async () => {
    for (const read of [0, 1]) {
      const { response, ends } = streamOf(numbers());
      const iterator = (await response).message[Symbol.asyncIterator]();
      for (let i = 0; i < read; i++) await iterator.next();
      await iterator.return?.();
      await iterator.return?.();
      expect(ends).toEqual([Code.Canceled]);
    }
  });
});
