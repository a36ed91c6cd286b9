import type { Collection, Document } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import type { FeedSink } from "./feed-sink.js";
import { isUnavailableError } from "./unavailable.js";
import type { StoreLogger } from "./options.js";
import { repeat } from "./repeat.js";
import type { PollLookup } from "./poll-filter.js";

/** Lookups by id a `by-id` poll has in flight at once. */
const parallelLookups = 8;

export interface WatchTicksOptions<TDoc extends Document> {
  readonly clock: Clock;
  readonly intervalMs: number;
  readonly logger: StoreLogger;
  /** Given where the deployment has no change streams: the collection to poll and where its documents go. */
  readonly poll?: { readonly collection: Collection<TDoc>; readonly sink: FeedSink<TDoc>; readonly lookup: PollLookup };
  /** Work done every interval after the poll, e.g. ending watches whose channel expired. */
  readonly tick?: (now: number) => void | Promise<void>;
}

/**
 * Every interval, when polling, fetches the documents of all locally
 * watched ids that moved past what their watchers have (a few queries,
 * however many watchers there are); then runs `tick`.
 */
export function startWatchTicks<TDoc extends Document>({ clock, intervalMs, logger, poll, tick }: WatchTicksOptions<TDoc>): () => void {
  return repeat(intervalMs, async () => {
    if (poll) await pollOnce(poll.collection, poll.sink, logger, poll.lookup);
    await tick?.(clock.now());
  });
}

/**
 * The documents of every locally watched id that moved past what its
 * watchers have, in a few queries (see pollFiltersByCounter) run one after
 * another. When MongoDB cannot be reached, every watch ends with `unavailable`.
 */
export async function pollOnce<TDoc extends Document>(
  collection: Collection<TDoc>,
  sink: FeedSink<TDoc>,
  logger: StoreLogger,
  lookup: PollLookup = "range",
): Promise<void> {
  try {
    const filters = sink.pollFilters(lookup);
    // Lookups by id are small: a few at a time. Range queries may be large: one at a time.
    const inFlight = lookup === "by-id" ? parallelLookups : 1;
    for (let start = 0; start < filters.length; start += inFlight) {
      const found = await Promise.all(filters.slice(start, start + inFlight).map((filter) => collection.find(filter).toArray()));
      await sink.deliver(found.flat() as TDoc[]);
    }
  } catch (error) {
    if (isUnavailableError(error)) {
      sink.failAll(`MongoDB is unavailable: ${(error as Error).message}`);
    } else {
      logger.warn("polling for changes failed", { collection: collection.collectionName, error: String(error) });
    }
  }
}
