/**
 * `npm run bench:cross [-- <samples>]`: push latency across two instances of
 * the MongoDB channel store in polling mode (the default poll interval,
 * 200 ms): a write acknowledged through store A → the watcher on store B
 * hearing of it. Against MONGODB_URI or a FerretDB started here
 * (FERRETDB_BACKEND=sqlite|pg, see mongo-backend.ts). Store level: no RPC.
 */
import { performance } from "node:perf_hooks";
import { systemClock } from "../src/lib/clock.js";
import { openMongoStore } from "../src/store/mongo/channels/open-mongo-store.js";
import type { MongoStoreOptions } from "../src/store/mongo/deployment/options.js";
import { runWithMongoBackend } from "./lib/mongo-script.js";
import { percentile } from "./lib/stats.js";

const samples = Number(process.argv[2] ?? 40);
const pollIntervalMs = 200;
const logger = { info: () => {}, warn: (msg: string, fields?: unknown) => console.warn(msg, fields) };

runWithMongoBackend(async (backend) => {
  const options: MongoStoreOptions = {
    uri: backend.uri,
    database: `switchboard_cross_${Date.now()}`,
    collection: "channels",
    writeConcern: "majority",
    watchMode: "auto",
    pollIntervalMs,
    serverSelectionTimeoutMs: 5000,
    socketTimeoutMs: 10_000,
    sweepIntervalMs: 10_000,
    limits: { maxChannels: 100_000, maxCandidatesPerSide: 50, maxChannelBytes: 1 << 20 },
  };
  const [a, b] = [await openMongoStore(options, systemClock, logger), await openMongoStore(options, systemClock, logger)];
  try {
    const latencies: number[] = [];
    for (let n = 0; n < samples; n++) {
      const now = Date.now();
      const { id } = await a.createChannel({ id: `cross-${now}-${n}`, offererTokenHash: "h", createTime: now, expireTime: now + 600_000 });
      let heard!: () => void;
      const heardIt = new Promise<number>((resolve) => (heard = () => resolve(performance.now())));
      const stop = b.watchChannel(id, (change) => change.kind === "updated" && change.state.offer && heard());
      // A random phase against the poll timer, as real writes have.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * pollIntervalMs));
      await a.setOffer(id, "offer");
      const acked = performance.now();
      latencies.push((await heardIt) - acked);
      stop();
    }
    const sorted = latencies.sort((x, y) => x - y);
    console.log(`backend: ${backend.label}; watch mode ${b.watchMode}, poll interval ${pollIntervalMs} ms`);
    console.log(`cross-instance push latency over ${samples} writes: p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
