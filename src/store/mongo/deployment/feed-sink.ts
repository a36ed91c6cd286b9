import type { Filter } from "mongodb";
import type { PollLookup } from "./poll-filter.js";

/**
 * What a feed (one polling query per interval, or one change stream per
 * process) hands the documents of one collection to: the watch hub of that
 * collection, which fans them out to this process's watchers.
 */
export interface FeedSink<TDoc> {
  /**
   * The queries for the watched documents that moved past what their
   * watchers have (see pollFiltersByCounter): a few per poll however many
   * watchers there are, none when nothing is watched.
   */
  pollFilters(lookup: PollLookup): Filter<TDoc>[];
  /** Documents as they are now, in the order they were read; the feed waits for the returned promise before its next poll. */
  deliver(docs: readonly TDoc[]): void | Promise<void>;
  /** A document was deleted. */
  deleted(id: string): void;
  /** The feed can no longer tell watchers about changes: every watch ends with `unavailable`. */
  failAll(detail: string): void;
}
