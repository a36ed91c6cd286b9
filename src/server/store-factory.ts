import type { Clock } from "../lib/clock.js";
import { MemoryChannelStore } from "../store/memory/memory-store.js";
import type { ChannelStore } from "../store/store.js";
import type { Config } from "./config.js";

/** Opens the store the config names. */
export async function openStore(config: Config, clock: Clock): Promise<ChannelStore> {
  switch (config.store) {
    case "memory":
      return new MemoryChannelStore(clock, config.limits);
  }
}
