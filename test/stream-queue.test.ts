import type { ConnectError } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { limitSettingOf } from "../src/service/limit-error.js";
import { StreamQueues } from "../src/service/stream-queue.js";

const never = new AbortController().signal;
const limits = { maxQueuedBytes: 100, maxQueuedMessages: 3, maxQueuedBytesTotal: 150 };

describe("StreamQueue", () => {
  it("hands items out in order, and gives their bytes back to the process as they are taken", async () => {
    const queues = new StreamQueues(limits);
    const queue = queues.create<number>("test", (n) => n);
    queue.push(10);
    queue.push(20);
    expect(queues.queuedBytes).toBe(30);
    expect(await queue.next(never)).toBe(10);
    expect(await queue.next(never)).toBe(20);
    expect(queues.queuedBytes).toBe(0);
  });

  it.each([
    ["stream-max-queued-messages", [1, 1, 1, 1]],
    ["stream-max-queued-bytes", [60, 60]],
  ])("overflows past %s: drops what it holds, calls onOverflow once, and next() fails RESOURCE_EXHAUSTED naming it", async (setting, sizes) => {
    const queues = new StreamQueues(limits);
    const queue = queues.create<number>("test", (n) => n);
    let overflows = 0;
    queue.onOverflow(() => overflows++);
    for (const size of sizes) queue.push(size);
    queue.push(1);
    expect(overflows).toBe(1);
    expect(queue.size).toBe(0);
    expect(queues.queuedBytes).toBe(0);
    const error = await queue.next(never).catch((e: unknown) => e);
    expect((error as { code: Code }).code).toBe(Code.ResourceExhausted);
    expect(limitSettingOf(error as never)).toBe(setting);
  });

  it("overflows the stream whose item does not fit in the process's total", async () => {
    const queues = new StreamQueues(limits);
    const first = queues.create<number>("test", (n) => n);
    const second = queues.create<number>("test", (n) => n);
    first.push(90);
    first.push(5);
    second.push(50);
    second.push(10);
    const error = await second.next(never).then(
      () => undefined,
      (e: unknown) => e as ConnectError,
    );
    expect(error && limitSettingOf(error)).toBe("stream-max-queued-bytes-total");
    expect(await first.next(never)).toBe(90);
  });

  it("always takes one item into an empty queue, however large", async () => {
    const queue = new StreamQueues(limits).create<number>("test", (n) => n);
    queue.push(1000);
    expect(await queue.next(never)).toBe(1000);
  });

  it("replaces the last item with a newer one that supersedes it, so a stream of updates never overflows", async () => {
    const queue = new StreamQueues(limits).create<number>("test", () => 40, { supersedes: () => true });
    for (let i = 0; i < 100; i++) queue.push(i);
    expect(queue.size).toBe(1);
    expect(await queue.next(never)).toBe(99);
  });

  it("gives its bytes back on close", () => {
    const queues = new StreamQueues(limits);
    const queue = queues.create<number>("test", (n) => n);
    queue.push(30);
    queue.push(30);
    queue.close();
    expect(queues.queuedBytes).toBe(0);
  });

  it("a waiting next() fails with the signal's reason when it aborts", async () => {
    const queue = new StreamQueues(limits).create<number>("test", (n) => n);
    const controller = new AbortController();
    const waiting = queue.next(controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(waiting).rejects.toThrow("cancelled");
  });
});
