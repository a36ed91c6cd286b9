import type { Client } from "@connectrpc/connect";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import type { WatchRoomResponse } from "../gen/signaling/v1/room_pb.js";
import { MessageKind, RoomService } from "../gen/signaling/v1/room_pb.js";
import { limitSettingHeader } from "../src/service/limit-error.js";
import { join, roomName, roomServers } from "./support/rooms.js";
import type { ServerProcess } from "./support/server-process.js";
import { startServerProcess } from "./support/server-process.js";
import { TcpProxy } from "./support/tcp-proxy.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const messageBytes = 64 * KiB;

/** Each room client on its own HTTP/2 connection, so a stalled stream stalls nothing else. */
const ownConnection = (url: string): Client<typeof RoomService> => createClient(RoomService, createGrpcTransport({ baseUrl: url }));
const body = (n: number) => `${n}:`.padEnd(messageBytes, "x");
const numberOf = (message: WatchRoomResponse) => (message.event.case === "message" ? Number(message.event.value.body.split(":")[0]) : undefined);

/**
 * Two members in a room: `sender` and `reader`. The reader's WatchRoom stream is opened through a TCP
 * proxy and its snapshot read, then the proxy stops reading from the server (a client that stopped
 * reading, or a stalled network: a Node client that merely stops iterating still takes in everything)
 * until `drain` is called.
 */
async function stalledRoom(url: string) {
  const room = roomName();
  const senderClient = ownConnection(url);
  const sender = await join(senderClient, room, "sender", 2);
  const proxy = new TcpProxy(Number(new URL(url).port));
  const readerClient = ownConnection(await proxy.listen());
  const reader = await join(readerClient, room, "reader");
  const stream = readerClient.watchRoom({ room, session: reader.session })[Symbol.asyncIterator]();
  const snapshot = await stream.next();
  let last = snapshot.value!.sequence;
  proxy.stall();
  return {
    send: (n: number) => senderClient.sendMessage({ room, session: sender.session, toSessionId: reader.sessionId, kind: MessageKind.DATA, body: body(n) }),
    /** Reads the stalled stream to its end: the message numbers it delivered and the error it ended with. */
    async drain(): Promise<{ numbers: number[]; error: ConnectError }> {
      proxy.unstall();
      const numbers: number[] = [];
      try {
        for (;;) {
          const { value, done } = await stream.next();
          if (done) throw new Error("the stream ended without an error");
          last = value.sequence;
          const n = numberOf(value);
          if (n !== undefined) numbers.push(n);
        }
      } catch (error) {
        return { numbers, error: ConnectError.from(error) };
      }
    },
    /** Resumes after the last sequence received and reads until message `upTo` arrives. */
    async resume(upTo: number): Promise<number[]> {
      const numbers: number[] = [];
      for await (const message of readerClient.watchRoom({ room, session: reader.session, afterSequence: last })) {
        const n = numberOf(message);
        if (n !== undefined) numbers.push(n);
        if (n === upTo) break;
      }
      await proxy.close();
      return numbers;
    },
    close: () => proxy.close(),
  };
}

/**
 * Sends messages until the server has ended the stalled stream (its slot is free: what the socket buffers and
 * HTTP/2 windows take in varies with the machine and its load), then `extra` more; returns how many it sent.
 */
async function sendUntilOverflow(room: Awaited<ReturnType<typeof stalledRoom>>, server: { openRoomStreams(): number }, extra = 10): Promise<number> {
  let n = 0;
  while (server.openRoomStreams() > 0) {
    if (n >= 5_000) throw new Error(`the stalled stream did not overflow after ${n} messages`);
    await room.send(++n);
  }
  for (const end = n + extra; n < end; ) await room.send(++n);
  return n;
}

/** The ending of a stream cut for falling behind, as the client reads it: RESOURCE_EXHAUSTED naming the setting. */
function expectEndedForStalling(error: ConnectError): void {
  expect(`${Code[error.code]}: ${error.rawMessage}`).toMatch(/^ResourceExhausted: .*stream-max-queued-bytes/);
  expect(error.metadata.get(limitSettingHeader)).toBe("stream-max-queued-bytes");
}

describe("a watcher that stops reading", () => {
  const servers = roomServers();

  it("has its stream ended with RESOURCE_EXHAUSTED naming the setting, and a resume delivers the rest, nothing lost", { timeout: 60_000 }, async () => {
    const server = await servers({ rooms: { maxBacklogBytes: 64 * MiB }, streams: { maxQueuedBytes: 1 * MiB, maxQueuedMessages: 1000, maxQueuedBytesTotal: 64 * MiB } });
    const room = await stalledRoom(server.url);
    // More than the kernel's loopback socket buffers and the client's HTTP/2 window take in, so the stream overflows.
    const total = await sendUntilOverflow(room, server);
    const { numbers: before, error } = await room.drain();
    expectEndedForStalling(error);
    // What was already on its way (HTTP/2 window and socket buffers) arrives before the error: a few messages.
    expect(before.length).toBeLessThan(total);

    const after = await room.resume(total);
    expect([...before, ...after]).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });
});

describe("a watcher that stops reading for longer", () => {
  const servers = roomServers();
  const streams = { maxQueuedBytes: 1 * MiB, maxQueuedMessages: 1000, maxQueuedBytesTotal: 64 * MiB };

  it("gives up its slot as soon as its stream overflows, and still reads RESOURCE_EXHAUSTED naming the setting within stream-overflow-grace-ms", { timeout: 60_000 }, async () => {
    const server = await servers({ rooms: { maxBacklogBytes: 64 * MiB }, streams: { ...streams, overflowGraceMs: 60_000 } });
    const room = await stalledRoom(server.url);
    expect(server.openRoomStreams()).toBe(1);
    // Still stalled: the stream's ending waits behind what the client has not read, but it holds no slot.
    await sendUntilOverflow(room, server);
    expect(server.openRoomStreams()).toBe(0);
    const { error } = await room.drain();
    expectEndedForStalling(error);
    await room.close();
  });

  it("is cut at the transport when its ending is still stuck behind unread data once stream-overflow-grace-ms is over", { timeout: 60_000 }, async () => {
    const overflowGraceMs = 300;
    const server = await servers({ rooms: { maxBacklogBytes: 64 * MiB }, streams: { ...streams, overflowGraceMs } });
    const room = await stalledRoom(server.url);
    await sendUntilOverflow(room, server, 0);
    // Well past the grace, counted from the overflow.
    await new Promise((r) => setTimeout(r, overflowGraceMs * 4));
    const { error } = await room.drain();
    // Where the ending was still queued in its HTTP/2 stream behind data the client's window did not take, the
    // stream was reset (RST_STREAM ENHANCE_YOUR_CALM) and the reset is all that reaches the client: connect-node's
    // client reads it as RESOURCE_EXHAUSTED, or as INTERNAL when node raises it as a stream error first, quoting
    // the HTTP/2 code. Where the client's window had taken the whole stream, ending included, the server held
    // nothing more for it and the cut had nothing left to do: the client reads the status.
    if (error.metadata.has(limitSettingHeader)) expectEndedForStalling(error);
    else expect(`${Code[error.code]}: ${error.rawMessage}`).toMatch(/^(ResourceExhausted|Internal): .*ENHANCE_YOUR_CALM/);
    await room.close();
  });
});

describe("a watcher that stops reading while 2,000 × 64 KiB messages are sent to it", () => {
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.kill();
  });

  it("costs the server at most its queue bound: after a full GC it holds what it held before, it runs in a 96 MiB heap, and its RSS stays within 96 MiB of where it started", { timeout: 180_000 }, async () => {
    // Default settings: 1 MiB per stream, and a WatchRoom stream holds at most half of the 256 KiB room backlog.
    // The reader keeps its seat while the sending goes on after its stream ended. One sender sends 2,000 messages
    // as fast as it can: the per-client write rate limit (1200/m by default) is off, it would measure the limiter.
    // The reader reads on only after the 2,000 sends, so its grace to read its stream's ending outlasts the test.
    server = await startServerProcess(
      { SWITCHBOARD_ROOM_SESSION_TIMEOUT_MS: "600000", SWITCHBOARD_RATE_LIMIT_WRITE: "0", SWITCHBOARD_STREAM_OVERFLOW_GRACE_MS: "600000" },
      // The young generation is capped too. Measured (lean path and connect-node alike): after a full GC the heap
      // used (~31 MiB) and the ArrayBuffers (~18 MiB) stay flat through the 2,000 messages, yet RSS rose by up to
      // 85 MiB, as much without a stalled reader as with one: garbage capacity, V8 growing its semi-spaces under
      // 64 KiB allocations at this rate (heapTotal reached 165 MiB with 31 used). The RSS bound was then at the
      // mercy of GC timing; with small semi-spaces it measures what the server holds, not when V8 collects.
      ["--max-old-space-size=96", "--max-semi-space-size=2"],
    );
    const room = await stalledRoom(server.url);
    for (let n = 1; n <= 20; n++) await room.send(n); // warm-up: code paths compiled, buffers grown
    const held = async () => {
      const m = await server!.memoryAfterGc();
      return m.heapUsed + m.arrayBuffers;
    };
    const heldBefore = await held();
    const baseline = server.rssBytes();
    let peak = baseline;
    const total = 2_000;
    for (let n = 21; n <= total; n++) {
      await room.send(n);
      if (n % 20 === 0) peak = Math.max(peak, server.rssBytes());
    }
    peak = Math.max(peak, server.rssBytes());
    const heldAfter = await held();
    const { numbers, error } = await room.drain();
    await room.close();
    const growthMiB = (peak - baseline) / MiB;
    console.log(
      `stalled watcher, ${total} × 64 KiB sent (${Math.round((total * messageBytes) / MiB)} MiB): server RSS ${Math.round(baseline / MiB)} MiB → ` +
        `peak ${Math.round(peak / MiB)} MiB (+${growthMiB.toFixed(1)} MiB); after GC, heap + ArrayBuffers ${Math.round(heldBefore / MiB)} → ${Math.round(heldAfter / MiB)} MiB; ` +
        `the stalled stream delivered ${numbers.length} messages, then ${Code[error.code]}`,
    );
    // The stream's queue bound (1 MiB) and the room backlog (256 KiB) with room to spare.
    expect((heldAfter - heldBefore) / MiB).toBeLessThan(8);
    expectEndedForStalling(error);
    expect(growthMiB).toBeLessThan(96);
  });
});
