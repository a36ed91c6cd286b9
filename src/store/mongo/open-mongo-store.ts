import { MongoClient, MongoServerError } from "mongodb";
import type { Clock } from "../../lib/clock.js";
import { ChangeStreamFeed } from "./change-stream-feed.js";
import type { ChannelDocument } from "./document.js";
import { ensureExpiryIndex, startSweeper } from "./expiry.js";
import { MongoChannelStore } from "./mongo-store.js";
import type { MongoStoreOptions, StoreLogger, WatchMode } from "./options.js";
import { pollOnce, startWatchTicks } from "./poll-feed.js";
import { guarded } from "./unavailable.js";
import { WatchHub } from "./watch-hub.js";
import { atomicUpdates, LeaseLock } from "./write-lock.js";

/**
 * Connects, creates the indexes, picks how watchers learn of other
 * processes' changes and starts the background work. Fails with
 * StoreError("unavailable") when MongoDB cannot be reached in time.
 */
export async function openMongoStore(options: MongoStoreOptions, clock: Clock, logger: StoreLogger): Promise<MongoChannelStore> {
  const client = new MongoClient(options.uri, {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs,
    writeConcern: { w: options.writeConcern },
    ignoreUndefined: true,
  });
  const stops: (() => void)[] = [];
  try {
    const collection = client.db(options.database).collection<ChannelDocument>(options.collection);
    const expiryMode = await guarded("*", () => ensureExpiryIndex(collection, logger));
    const hub = new WatchHub();
    const writeGuard = (await isFerretDb(client))
      ? LeaseLock.forCollection(client.db(options.database), options.collection, writeLeaseMs(options))
      : atomicUpdates;
    if (expiryMode === "sweeper") stops.push(startSweeper(collection, clock, options.sweepIntervalMs, logger));

    let watchMode = options.watchMode === "auto" ? await detectWatchMode(client) : options.watchMode;
    let changeStream: ChangeStreamFeed | undefined;
    if (watchMode === "change-stream") {
      const catchUp = () => pollOnce(collection, hub, clock, logger);
      changeStream = new ChangeStreamFeed(collection, hub, () => clock.now(), logger, catchUp);
      try {
        await guarded("*", () => changeStream!.open());
      } catch (error) {
        if (!(error instanceof MongoServerError) || options.watchMode === "change-stream") throw error;
        logger.warn("this MongoDB deployment refuses change streams; polling instead", { error: error.message });
        changeStream = undefined;
        watchMode = "poll";
      }
    }
    // When polling, the timer also fetches changes; with a change stream it only ends expired watches.
    const intervalMs = options.pollIntervalMs;
    stops.push(startWatchTicks({ hub, clock, intervalMs, logger, ...(watchMode === "poll" && { poll: collection }) }));
    logger.info("mongodb store ready", {
      database: options.database,
      collection: options.collection,
      watchMode,
      expiry: expiryMode,
      writes: writeGuard.kind,
      pollIntervalMs: watchMode === "poll" ? options.pollIntervalMs : undefined,
    });
    return new MongoChannelStore({
      client,
      collection,
      clock,
      options,
      hub,
      watchMode,
      expiryMode,
      writeGuard,
      ...(changeStream && { changeStream }),
      stopTimers: () => stops.forEach((stop) => stop()),
    });
  } catch (error) {
    stops.forEach((stop) => stop());
    await client.close().catch(() => {});
    throw error;
  }
}

/** Change streams need a replica set or a sharded cluster; `hello` tells which this is. */
async function detectWatchMode(client: MongoClient): Promise<WatchMode> {
  const hello = await guarded("*", () => client.db("admin").command({ hello: 1 }));
  return typeof hello["setName"] === "string" || hello["msg"] === "isdbgrid" ? "change-stream" : "poll";
}

/** FerretDB says so in buildInfo; its updates need the lease lock. */
async function isFerretDb(client: MongoClient): Promise<boolean> {
  const info = await guarded("*", () => client.db("admin").command({ buildInfo: 1 }));
  return typeof info["ferretdbVersion"] === "string";
}

/** A write holding the lock fails after at most a server selection timeout plus its own round trip. */
function writeLeaseMs(options: MongoStoreOptions): number {
  return Math.max(5000, 3 * options.serverSelectionTimeoutMs);
}
