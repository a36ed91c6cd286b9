import type { Clock } from "../lib/clock.js";
import { MemoryChannelStore } from "../store/memory/memory-store.js";
import { MemoryRoomStore } from "../store/memory/memory-room-store.js";
import type { RoomStore } from "../store/room-store.js";
import type { ChannelStore } from "../store/store.js";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { mongoStartupError } from "./startup-error.js";

export interface Stores {
  readonly store: ChannelStore;
  readonly roomStore: RoomStore;
}

/**
 * Opens the channel and room stores the config names, except those `given`.
 * On MongoDB both share ONE deployment (one client, capabilities detected
 * once). When the room store fails to open, the channel store opened here
 * is closed again. A MongoDB store that cannot be opened fails with a
 * StartupError (one line saying what to change).
 *
 * The MongoDB driver and store are loaded only when the config names them: a
 * server on the memory store never loads the driver (about 7 MiB of heap and
 * its modules' code).
 */
export async function openStores(config: Config, clock: Clock, logger: Logger, given: Partial<Stores> = {}): Promise<Stores> {
  return openStoresAsConfigured(config, clock, logger, given).catch(async (error: unknown) => {
    if (config.store !== "mongodb") throw error;
    throw await mongoStartupError(error, config.mongodb);
  });
}

async function openStoresAsConfigured(config: Config, clock: Clock, logger: Logger, given: Partial<Stores>): Promise<Stores> {
  if (config.store === "memory") {
    return { store: given.store ?? new MemoryChannelStore(clock, config.limits), roomStore: given.roomStore ?? new MemoryRoomStore(clock, config.rooms) };
  }
  if (given.store && given.roomStore) return { store: given.store, roomStore: given.roomStore };
  const [{ MongoDeployment }, { openMongoStore }, { openMongoRoomStore }] = await Promise.all([
    import("../store/mongo/deployment/deployment.js"),
    import("../store/mongo/channels/open-mongo-store.js"),
    import("../store/mongo/rooms/open-mongo-room-store.js"),
  ]);
  const deployment = await MongoDeployment.open(config.mongodb, logger);
  const release = deployment.hold(); // until both stores hold it, so a failure in between closes the client
  try {
    const store = given.store ?? (await openMongoStore({ ...config.mongodb, limits: config.limits }, clock, logger, deployment));
    const roomOptions = { ...config.mongodb, collection: config.mongodb.roomCollection, limits: config.rooms };
    const roomStore = given.roomStore ?? (await openMongoRoomStore(roomOptions, clock, logger, deployment).catch(closing(given.store ? undefined : store)));
    return { store, roomStore };
  } finally {
    await release();
  }
}

/** Closes the store opened here when what follows it fails to open, then rethrows. */
function closing(opened: ChannelStore | undefined): (error: unknown) => Promise<never> {
  return async (error) => {
    await opened?.close().catch(() => {});
    throw error;
  };
}
