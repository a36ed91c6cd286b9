import type { Clock } from "../../../lib/clock.js";
import { MongoDeployment } from "../deployment/deployment.js";
import { startFeed } from "../deployment/feed.js";
import type { MongoRoomStoreOptions, StoreLogger } from "../deployment/options.js";
import { guardedRoom } from "../deployment/unavailable.js";
import { MongoRoomStore } from "./mongo-room-store.js";
import type { RoomDocument, RoomEventDocument } from "./room-document.js";
import { eventReader } from "./room-events.js";
import { RoomSequences } from "./room-sequences.js";
import { RoomWatchHub } from "./room-watch-hub.js";
import { roomLimit } from "./room-writes.js";

/**
 * Creates the indexes of the rooms and events collections, picks how
 * watchers learn of other processes' events and starts the background
 * work: the poller or change stream, the reaper that times out members
 * (every poll interval), and on servers without TTL indexes the sweepers.
 * Runs on `deployment` (shared with the channel store) or, without one, on
 * a connection of its own. Fails with RoomStoreError("unavailable") when
 * MongoDB cannot be reached.
 */
export async function openMongoRoomStore(
  options: MongoRoomStoreOptions,
  clock: Clock,
  logger: StoreLogger,
  deployment?: MongoDeployment,
): Promise<MongoRoomStore> {
  const shared = deployment ?? (await guardedRoom("*", () => MongoDeployment.open(options, logger)));
  const release = shared.hold();
  const stops: (() => void)[] = [];
  try {
    const { concessions } = shared;
    const rooms = shared.db.collection<RoomDocument>(options.collection);
    const events = shared.db.collection<RoomEventDocument>(`${options.collection}.events`);
    await guardedRoom("*", async () => {
      stops.push(await concessions.expireDocuments(rooms, clock, "rooms"), await concessions.expireDocuments(events, clock, "room events"));
      await rooms.createIndex({ nextExpireAt: 1 }, { name: "nextExpireAt" });
      await events.createIndex({ epoch: 1, sequence: 1 }, { name: "epoch_sequence" });
    });
    const writeGuard = concessions.writeGuard(options.collection);
    const readEvents = eventReader(events, concessions.eventLookup);
    const lastSequences = new RoomSequences();
    const hub = new RoomWatchHub(readEvents, lastSequences, logger);
    let store: MongoRoomStore | undefined;
    const feed = await guardedRoom("*", () =>
      startFeed({
        changeStreams: shared.capabilities.changeStreams, pollLookup: concessions.pollLookup,
        collection: rooms,
        sink: hub,
        options,
        clock,
        logger,
        tick: () => store?.timeOutExpiredMembers(),
      }),
    );
    stops.push(feed.stopTimers);
    const { watchMode, changeStream } = feed;
    logger.info("mongodb room store ready", { collection: options.collection, watchMode, expiry: concessions.expiry, writes: writeGuard.kind });
    store = new MongoRoomStore({
      deployment: shared,
      rooms,
      events,
      readEvents,
      clock,
      limits: options.limits,
      logger,
      hub,
      lastSequences,
      roomLimit: roomLimit(rooms, options.limits.maxRooms, shared.lock(options.collection), () => clock.now()),
      watchMode,
      writeGuard,
      ...(changeStream && { changeStream }),
      stopTimers: () => stops.forEach((stop) => stop()),
      release,
    });
    return store;
  } catch (error) {
    stops.forEach((stop) => stop());
    await release().catch(() => {});
    throw error;
  }
}
