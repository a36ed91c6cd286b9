/**
 * `npm run bench:poll [-- <watched>]`: how long ONE poll of the MongoDB
 * channel store takes when this process watches very many channels
 * (default 10,000), against MONGODB_URI or a FerretDB started here (see
 * mongo-backend.ts). Prints the median and worst wall time of a poll that
 * finds nothing new, and of one that finds 1 % of the channels changed.
 */
import { MongoClient } from "mongodb";
import { performance } from "node:perf_hooks";
import type { ChannelDocument } from "../src/store/mongo/channels/document.js";
import { newChannelDocument } from "../src/store/mongo/channels/document.js";
import { pollOnce } from "../src/store/mongo/deployment/poll-feed.js";
import { channelFeedSink, WatchHub } from "../src/store/mongo/channels/watch-hub.js";
import { runWithMongoBackend } from "./lib/mongo-script.js";

const watched = Number(process.argv[2] ?? 10_000);
const rounds = 5;
const clock = { now: () => Date.now(), schedule: () => () => {} };
const logger = { info: () => {}, warn: (msg: string, fields?: unknown) => console.warn(msg, fields) };

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, worst ${sorted.at(-1)!.toFixed(0)} ms`;
}

runWithMongoBackend(async (backend) => {
  const client = new MongoClient(backend.uri);
  const database = `switchboard_poll_${Date.now()}`;
  try {
    const collection = client.db(database).collection<ChannelDocument>("channels");
    const now = Date.now();
    const ids = Array.from({ length: watched }, (_, n) => `poll-${n}`);
    for (let start = 0; start < ids.length; start += 1000) {
      await collection.insertMany(ids.slice(start, start + 1000).map((id) => newChannelDocument({ id, offererTokenHash: "h", createTime: now, expireTime: now + 3_600_000 })));
    }
    const hub = new WatchHub();
    let updates = 0;
    for (const id of ids) hub.add(id, (change) => change.kind === "updated" && updates++);
    const sink = channelFeedSink(hub, clock);
    const timed = async (): Promise<number> => {
      const started = performance.now();
      await pollOnce(collection, sink, logger);
      return performance.now() - started;
    };
    await timed(); // the first poll hands every channel's version 1 to its watchers
    const idle: number[] = [];
    for (let n = 0; n < rounds; n++) idle.push(await timed());
    const changedPolls: number[] = [];
    for (let n = 0; n < rounds; n++) {
      const changed = ids.filter((_, i) => i % 100 === n);
      await collection.updateMany({ _id: { $in: changed } }, { $inc: { version: 1 }, $push: { changes: "offer" }, $set: { offer: "sdp" } });
      const before = updates;
      changedPolls.push(await timed());
      if (updates - before !== changed.length) throw new Error(`poll handed over ${updates - before} updates, expected ${changed.length}`);
    }
    console.log(`backend: ${backend.label}`);
    console.log(`${watched} watched channels; poll with nothing new: ${summary(idle)}; poll with 1 % changed: ${summary(changedPolls)}`);
  } finally {
    await client.db(database).dropDatabase().catch(() => {});
    await client.close();
  }
});
