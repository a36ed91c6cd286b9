import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { SignalingService, WatchChannelRequestSchema } from "../gen/signaling/v1/signaling_pb.js";
import { defaultConfig } from "../src/server/config.js";
import { systemClock } from "../src/lib/clock.js";
import { MemoryChannelStore } from "../src/store/memory/memory-store.js";
import type { ChannelStore } from "../src/store/store.js";
import { Scrape } from "./support/scrape.js";
import { signalingClient, startTestServer } from "./support/test-server.js";

const streams = 3_000;
const perConnection = 100;

/** A real memory store that counts the watchers subscribed to it now. */
function countingStore(): { store: ChannelStore; watchers: () => number } {
  const inner = new MemoryChannelStore(systemClock, defaultConfig().limits);
  let watchers = 0;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      if (key !== "watchChannel") {
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (...args: Parameters<ChannelStore["watchChannel"]>) => {
        const unsubscribe = target.watchChannel(...args);
        watchers++;
        let done = false;
        return () => {
          if (!done) watchers--;
          done = true;
          unsubscribe();
        };
      };
    },
  });
  return { store, watchers: () => watchers };
}

/** gRPC WatchChannel streams on raw HTTP/2 connections (a cheap client: thousands of streams); resolves once each has its first message. */
async function openRaw(url: string, channelId: string, token: string) {
  const body = toBinary(WatchChannelRequestSchema, create(WatchChannelRequestSchema, { channelId, token }));
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  const sessions = Array.from({ length: streams / perConnection }, () => http2.connect(url).on("error", () => {}));
  const held = await Promise.all(
    Array.from({ length: streams }, (_, i) => {
      const stream = sessions[Math.floor(i / perConnection)]!.request({
        ":method": "POST",
        ":path": `/${SignalingService.typeName}/WatchChannel`,
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => {});
      stream.end(frame);
      return new Promise<http2.ClientHttp2Stream>((resolve, reject) => {
        stream.once("data", () => resolve(stream));
        stream.once("close", () => reject(new Error(`stream ${i} closed before its first message`)));
        stream.resume();
      });
    }),
  );
  return { sessions, held };
}

async function until(what: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe(`${streams} watch streams cancelled at once`, () => {
  for (const how of ["every stream reset (RST_STREAM CANCEL)", "every connection dropped"] as const) {
    it(`${how}: a unary call made meanwhile succeeds, and every stream's slot, gauge and store subscription is released`, { timeout: 120_000 }, async () => {
      const { store, watchers } = countingStore();
      const server = await startTestServer({ limits: { maxWatchersPerChannel: streams } }, { store });
      try {
        const client = signalingClient("grpc", server.url);
        const { channelId, offererToken } = await client.createChannel({});
        const { sessions, held } = await openRaw(server.url, channelId, offererToken);
        expect(server.openWatchStreams()).toBe(streams);
        expect(watchers()).toBe(streams);
        expect((await Scrape.of(`${server.url}/metrics`)).value("switchboard_open_streams", { kind: "channel" })).toBe(streams);

        if (how === "every connection dropped") for (const session of sessions) session.destroy();
        else for (const stream of held) stream.close(http2.constants.NGHTTP2_CANCEL);
        const created = await client.createChannel({});
        expect(created.channelId).not.toBe("");

        await until(() => server.openWatchStreams() === 0);
        await until(async () => (await Scrape.of(`${server.url}/metrics`)).value("switchboard_open_streams", { kind: "channel" }) === 0);
        expect(watchers()).toBe(0);
        // The channel takes new watchers again: every slot was given back.
        const again = await openRawOne(server.url, channelId, offererToken);
        expect(watchers()).toBe(1);
        again.destroy();
        for (const session of sessions) session.destroy();
      } finally {
        await server.shutdown(0);
      }
    });
  }
});

async function openRawOne(url: string, channelId: string, token: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url).on("error", () => {});
  const body = toBinary(WatchChannelRequestSchema, create(WatchChannelRequestSchema, { channelId, token }));
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  const stream = session.request({ ":method": "POST", ":path": `/${SignalingService.typeName}/WatchChannel`, "content-type": "application/grpc", te: "trailers" });
  stream.end(frame);
  await new Promise((resolve, reject) => {
    stream.once("data", resolve);
    stream.once("close", () => reject(new Error("closed before its first message")));
  });
  return session;
}
