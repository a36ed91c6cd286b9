import type { Collection } from "mongodb";
import type { Clock } from "../../lib/clock.js";
import { StoreError } from "../store.js";
import type { ChannelDocument } from "./document.js";
import { isUnavailableError } from "./unavailable.js";
import type { StoreLogger } from "./options.js";
import { repeat } from "./repeat.js";
import type { WatchHub } from "./watch-hub.js";

export interface WatchTicksOptions {
  readonly hub: WatchHub;
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly logger: StoreLogger;
  /** Given where the deployment has no change streams: the collection to poll. */
  readonly poll?: Collection<ChannelDocument>;
}

/**
 * Every interval, ends the local watches whose channel expired (the
 * database deletes late, so nothing would tell them) and, when polling,
 * runs ONE query for the documents of all locally watched channels that
 * moved past the version their watchers have, however many watchers there are.
 */
export function startWatchTicks({ hub, clock, intervalMs, logger, poll }: WatchTicksOptions): () => void {
  return repeat(intervalMs, async () => {
    if (poll) await pollOnce(poll, hub, clock, logger);
    hub.expire(clock.now());
  });
}

/**
 * ONE query for the documents of every locally watched channel that moved
 * past the version its watchers have. When MongoDB cannot be reached, every
 * watch ends with `unavailable`.
 */
export async function pollOnce(collection: Collection<ChannelDocument>, hub: WatchHub, clock: Clock, logger: StoreLogger): Promise<void> {
  const watched = hub.versions();
  if (watched.length === 0) return;
  try {
    const docs = await collection.find({ $or: watched.map(([id, version]) => ({ _id: id, version: { $gt: version } })) }).toArray();
    const now = clock.now();
    for (const doc of docs) hub.deliver(doc, now);
  } catch (error) {
    if (isUnavailableError(error)) {
      hub.failAll(new StoreError("unavailable", "*", `MongoDB is unavailable: ${(error as Error).message}`));
    } else {
      logger.warn("polling for channel changes failed", { error: String(error) });
    }
  }
}
