import type { Clock } from "../lib/clock.js";
import { MemoryChannelStore } from "../store/memory/memory-store.js";
import { openMongoStore } from "../store/mongo/open-mongo-store.js";
import type { ChannelStore } from "../store/store.js";
import type { Config } from "./config.js";
import type { Logger } from "./logger.js";

/** Opens the store the config names. */
export async function openStore(config: Config, clock: Clock, logger: Logger): Promise<ChannelStore> {
  switch (config.store) {
    case "memory":
      return new MemoryChannelStore(clock, config.limits);
    case "mongodb":
      return openMongoStore({ ...config.mongodb, limits: config.limits }, clock, logger);
  }
}
