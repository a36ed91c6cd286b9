import type { Clock } from "../../../lib/clock.js";
import type { ChannelDocument } from "./document.js";
import { ensureExpiryIndex, startSweeper } from "../deployment/expiry.js";
import { createClient, isFerretDb, writeLeaseMs } from "../deployment/client.js";
import { startFeed } from "../deployment/feed.js";
import { MongoChannelStore } from "./mongo-store.js";
import type { MongoStoreOptions, StoreLogger } from "../deployment/options.js";
import { guarded } from "../deployment/unavailable.js";
import { channelFeedSink, WatchHub } from "./watch-hub.js";
import { atomicUpdates, LeaseLock } from "../deployment/write-lock.js";

/**
 * Connects, creates the indexes, picks how watchers learn of other
 * processes' changes and starts the background work. Fails with
 * StoreError("unavailable") when MongoDB cannot be reached in time.
 */
export async function openMongoStore(options: MongoStoreOptions, clock: Clock, logger: StoreLogger): Promise<MongoChannelStore> {
  const client = createClient(options);
  const stops: (() => void)[] = [];
  try {
    const collection = client.db(options.database).collection<ChannelDocument>(options.collection);
    const expiryMode = await guarded("*", () => ensureExpiryIndex(collection, logger));
    const hub = new WatchHub();
    const writeGuard = (await isFerretDb(client))
      ? LeaseLock.forCollection(client.db(options.database), options.collection, writeLeaseMs(options))
      : atomicUpdates;
    if (expiryMode === "sweeper") stops.push(startSweeper(collection, clock, options.sweepIntervalMs, logger));
    // With a change stream the ticks only end watches whose channel expired (the database deletes late).
    const sink = channelFeedSink(hub, clock);
    const feed = await startFeed({ client, collection, sink, options, clock, logger, tick: (now) => hub.expire(now) });
    stops.push(feed.stopTimers);
    const { watchMode, changeStream } = feed;
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
