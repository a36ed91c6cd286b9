import type { Clock } from "../../../lib/clock.js";
import { MongoDeployment } from "../deployment/deployment.js";
import { startFeed } from "../deployment/feed.js";
import type { MongoStoreOptions, StoreLogger } from "../deployment/options.js";
import { guarded } from "../deployment/unavailable.js";
import { ChannelWrites } from "./channel-writes.js";
import { LimitedInserts } from "../deployment/limited-insert.js";
import { StoreError } from "../../store.js";
import type { ChannelDocument } from "./document.js";
import { MongoChannelStore } from "./mongo-store.js";
import { channelFeedSink, WatchHub } from "./watch-hub.js";

/**
 * Creates the indexes, picks how watchers learn of other processes' changes
 * and starts the background work, on `deployment` (shared with the room
 * store) or, without one, on a connection of its own. Fails with
 * StoreError("unavailable") when MongoDB cannot be reached in time.
 */
export async function openMongoStore(
  options: MongoStoreOptions,
  clock: Clock,
  logger: StoreLogger,
  deployment?: MongoDeployment,
): Promise<MongoChannelStore> {
  const shared = deployment ?? (await MongoDeployment.open(options, logger));
  const release = shared.hold();
  const stops: (() => void)[] = [];
  try {
    const { concessions } = shared;
    const collection = shared.db.collection<ChannelDocument>(options.collection);
    stops.push(await guarded("*", () => concessions.expireDocuments(collection, clock, "channels")));
    const hub = new WatchHub();
    const writeGuard = concessions.writeGuard(options.collection);
    // With a change stream the ticks only end watches whose channel expired (the database deletes late).
    const sink = channelFeedSink(hub, clock, concessions.skipObservedInPolls);
    const feed = await startFeed({ changeStreams: shared.capabilities.changeStreams, pollLookup: concessions.pollLookup, collection, sink, options, clock, logger, tick: (now) => hub.expire(now) });
    stops.push(feed.stopTimers);
    const { watchMode, changeStream } = feed;
    logger.info("mongodb store ready", {
      collection: options.collection,
      watchMode,
      expiry: concessions.expiry,
      writes: writeGuard.kind,
      pollIntervalMs: watchMode === "poll" ? options.pollIntervalMs : undefined,
    });
    const writes = new ChannelWrites(collection, writeGuard, hub, clock);
    const { maxChannels } = options.limits;
    const refused = (id: string) => new StoreError("channel-limit", id, `the store holds its maximum of ${maxChannels} channels`);
    return new MongoChannelStore({
      deployment: shared,
      collection,
      writes,
      creates: new LimitedInserts({ collection, counted: () => writes.liveFilter(), max: maxChannels, gate: shared.lock(options.collection), refused }),
      clock,
      options,
      hub,
      watchMode,
      writeGuard,
      ...(changeStream && { changeStream }),
      stopTimers: () => stops.forEach((stop) => stop()),
      release,
    });
  } catch (error) {
    stops.forEach((stop) => stop());
    await release().catch(() => {});
    throw error;
  }
}
