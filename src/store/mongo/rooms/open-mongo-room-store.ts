import type { Clock } from "../../../lib/clock.js";
import { createClient, isFerretDb, writeLeaseMs } from "../deployment/client.js";
import { ensureExpiryIndex, startSweeper } from "../deployment/expiry.js";
import { startFeed } from "../deployment/feed.js";
import { MongoRoomStore } from "./mongo-room-store.js";
import type { MongoRoomStoreOptions, StoreLogger } from "../deployment/options.js";
import type { RoomDocument, RoomEventDocument } from "./room-document.js";
import { eventReader } from "./room-events.js";
import { RoomSequences } from "./room-sequences.js";
import { RoomWatchHub } from "./room-watch-hub.js";
import { guardedRoom } from "../deployment/unavailable.js";
import { atomicUpdates, LeaseLock } from "../deployment/write-lock.js";

/**
 * Connects, creates the indexes of the rooms and events collections, picks
 * how watchers learn of other processes' events and starts the background
 * work: the poller or change stream, the reaper that times out members
 * (every poll interval), and on servers without TTL indexes the sweepers.
 * Fails with RoomStoreError("unavailable") when MongoDB cannot be reached.
 */
export async function openMongoRoomStore(options: MongoRoomStoreOptions, clock: Clock, logger: StoreLogger): Promise<MongoRoomStore> {
  const client = createClient(options);
  const stops: (() => void)[] = [];
  try {
    const db = client.db(options.database);
    const rooms = db.collection<RoomDocument>(options.collection);
    const events = db.collection<RoomEventDocument>(`${options.collection}.events`);
    const expiryMode = await guardedRoom("*", async () => {
      const mode = await ensureExpiryIndex(rooms, logger, "rooms");
      await ensureExpiryIndex(events, logger, "room events");
      await rooms.createIndex({ nextExpireAt: 1 }, { name: "nextExpireAt" });
      await events.createIndex({ epoch: 1, sequence: 1 }, { name: "epoch_sequence" });
      return mode;
    });
    // FerretDB 1.x: updates are not atomic (lease lock), and only `_id` lookups avoid reading the whole collection.
    const ferret = await guardedRoom("*", () => isFerretDb(client));
    const writeGuard = ferret ? LeaseLock.forCollection(db, options.collection, writeLeaseMs(options)) : atomicUpdates;
    const readEvents = eventReader(events, ferret ? "by-id" : "range");
    if (expiryMode === "sweeper") {
      stops.push(startSweeper(rooms, clock, options.sweepIntervalMs, logger), startSweeper(events, clock, options.sweepIntervalMs, logger));
    }
    const known = new RoomSequences();
    const hub = new RoomWatchHub(readEvents, known, logger);
    let store: MongoRoomStore | undefined;
    const feed = await guardedRoom("*", () =>
      startFeed({ client, collection: rooms, sink: hub, options, clock, logger, tick: () => store?.reapExpiredMembers() }),
    );
    stops.push(feed.stopTimers);
    const { watchMode, changeStream } = feed;
    logger.info("mongodb room store ready", {
      database: options.database,
      collection: options.collection,
      watchMode,
      expiry: expiryMode,
      writes: writeGuard.kind,
    });
    store = new MongoRoomStore({
      client,
      rooms,
      events,
      readEvents,
      trimEagerly: !ferret,
      clock,
      limits: options.limits,
      logger,
      hub,
      known,
      watchMode,
      expiryMode,
      writeGuard,
      ...(changeStream && { changeStream }),
      stopTimers: () => stops.forEach((stop) => stop()),
    });
    return store;
  } catch (error) {
    stops.forEach((stop) => stop());
    await client.close().catch(() => {});
    throw error;
  }
}
