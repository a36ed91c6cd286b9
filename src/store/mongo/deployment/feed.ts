import type { Collection, Document } from "mongodb";
import { MongoServerError } from "mongodb";
import type { Clock } from "../../../lib/clock.js";
import { ChangeStreamFeed } from "./change-stream-feed.js";
import type { FeedSink } from "./feed-sink.js";
import type { MongoStoreOptions, StoreLogger, WatchMode } from "./options.js";
import type { PollLookup } from "./poll-filter.js";
import { pollOnce, startWatchTicks } from "./poll-feed.js";
import { guarded } from "./unavailable.js";

export interface FeedSetup<TDoc extends Document & { _id: string }> {
  /** Whether the deployment has change streams (its capabilities). */
  readonly changeStreams: boolean;
  readonly collection: Collection<TDoc>;
  readonly sink: FeedSink<TDoc>;
  readonly options: Pick<MongoStoreOptions, "watchMode" | "pollIntervalMs">;
  /** How a poll reads the watched documents (the deployment's concession). */
  readonly pollLookup: PollLookup;
  readonly clock: Clock;
  readonly logger: StoreLogger;
  /** Work done every poll interval whatever the watch mode. */
  readonly tick?: (now: number) => void | Promise<void>;
}

export interface RunningFeed<TDoc extends Document & { _id: string }> {
  readonly watchMode: WatchMode;
  readonly changeStream?: ChangeStreamFeed<TDoc>;
  /** Stops the interval timer (the change stream closes with the store). */
  readonly stopTimers: () => void;
}

/**
 * Starts the way this process learns of the collection's changes made
 * elsewhere: ONE change stream where the deployment has them (and the
 * options allow), else ONE polling query per interval for every watched id.
 */
export async function startFeed<TDoc extends Document & { _id: string }>(setup: FeedSetup<TDoc>): Promise<RunningFeed<TDoc>> {
  const { changeStreams, collection, sink, options, clock, logger, tick, pollLookup } = setup;
  let watchMode: WatchMode = options.watchMode !== "auto" ? options.watchMode : changeStreams ? "change-stream" : "poll";
  let changeStream: ChangeStreamFeed<TDoc> | undefined;
  if (watchMode === "change-stream") {
    const catchUp = () => pollOnce(collection, sink, logger, pollLookup);
    changeStream = new ChangeStreamFeed(collection, sink, logger, catchUp);
    try {
      await guarded("*", () => changeStream!.open());
    } catch (error) {
      if (!(error instanceof MongoServerError) || options.watchMode === "change-stream") throw error;
      logger.warn("this MongoDB deployment refuses change streams; polling instead", { error: error.message });
      changeStream = undefined;
      watchMode = "poll";
    }
  }
  // When polling, the timer also fetches changes; with a change stream it only runs `tick`.
  const poll = watchMode === "poll" ? { collection, sink, lookup: pollLookup } : undefined;
  const stopTimers = startWatchTicks({ clock, intervalMs: options.pollIntervalMs, logger, ...(poll && { poll }), ...(tick && { tick }) });
  return { watchMode, ...(changeStream && { changeStream }), stopTimers };
}
