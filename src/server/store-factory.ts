import type { Clock } from "../lib/clock.js";
import { MemoryChannelStore } from "../store/memory/memory-store.js";
import { openMongoRoomStore } from "../store/mongo/open-mongo-room-store.js";
import { openMongoStore } from "../store/mongo/open-mongo-store.js";
import type { ChannelStore } from "../store/store.js";
import { MemoryRoomStore } from "../store/memory/memory-room-store.js";
import type { RoomStore } from "../store/room-store.js";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import { mongoStartupError } from "./startup-error.js";

/** Opens the store the config names; a MongoDB store that cannot be opened fails with a StartupError. */
export async function openStore(config: Config, clock: Clock, logger: Logger): Promise<ChannelStore> {
  switch (config.store) {
    case "memory":
      return new MemoryChannelStore(clock, config.limits);
    case "mongodb":
      return openMongoStore({ ...config.mongodb, limits: config.limits }, clock, logger).catch((error: unknown) => {
        throw mongoStartupError(error, config.mongodb);
      });
  }
}

/** Opens the room store the config names. */
export async function openRoomStore(config: Config, clock: Clock, logger: Logger): Promise<RoomStore> {
  switch (config.store) {
    case "memory":
      return new MemoryRoomStore(clock, config.rooms);
    case "mongodb":
      return openMongoRoomStore({ ...config.mongodb, collection: config.mongodb.roomCollection, limits: config.rooms }, clock, logger).catch(
        (error: unknown) => {
          throw mongoStartupError(error, config.mongodb);
        },
      );
  }
}
